// The browser-safe entry point `@savepoint/runtime-bridge/client`. It must not load server code: everything it
// imports at run time is in client-*.ts / runtime-client.ts, which import nothing but each other (and types).
// test/client-entry.test.ts checks that.
export { createRuntimeClient, type RuntimeClient, type RuntimeClientOptions, type StartRunOptions, type AnswerOptions, type ResumeRunOptions, type RunId } from './runtime-client.js';
export { RuntimeClientError, type RuntimeClientErrorCode } from './client-error.js';
export type { EventsOptions } from './client-events.js';
export type {
  AnyWorkflows,
  WorkflowsOf,
  WorkflowName,
  RunInputOf,
  RunOutputOf,
  RunRef,
  StartedRun,
  RunInfo,
  RunSummary,
  ListRunsQuery,
  RunPage,
  ListCheckpointsQuery,
  CheckpointPage,
  CheckpointInfo,
  RunDeletion,
} from './client-types.js';
export type { EventEnvelope, EventEnvelopeOf, RawEventEnvelope, RuntimeEventData } from './events.js';
export type { Jsonified } from './jsonified.js';
export type { ErrorIssue } from './http-error.js';
export type { WorkflowDescription, JsonSchema } from './workflow-descriptions.js';
