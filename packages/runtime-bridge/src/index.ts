export { createRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
export { ANONYMOUS, Principal, type AuthHook } from './principal.js';
export type { AuthorizeHook, RunAccess, RunAction } from './run-access.js';
export type { EventEnvelope } from './event-log.js';
export type { RunView, RunListItem } from './run-service.js';
export type { AttachOptions } from './websocket-gateway.js';
export type { NodeHandler } from './node-adapter.js';
export { HttpError, type ErrorBody, type RuntimeErrorCode } from './http-error.js';
export { InboxChannel, CANCEL_PATH, type InboxChannelOptions } from './inbox-channel.js';
