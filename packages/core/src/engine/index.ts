export { LIBRARY_VERSION } from './version.js';
export { Node, type NodeOptions, type Awaitable } from './node.js';
export type { NodeContext, InputRequest, InputAnswer, HumanInputChannel } from './node-context.js';
export { PendingInputSignal } from './pending-input-signal.js';
export { Flow, type FlowOptions } from './flow.js';
export { Workflow, type WorkflowOptions, type RunOptions, type ResumeOptions, type PendingInput } from './workflow.js';
export type { RunResult, RunStatus, RunWarning } from './run-result.js';
export { EventBus, type WorkflowEvent, type WorkflowEventType, type WorkflowEventListener } from './event-bus.js';
export { childContext, executeChild, type ChildOptions, type ChildProgress } from './child-context.js';
