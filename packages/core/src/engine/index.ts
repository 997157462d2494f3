export { LIBRARY_VERSION } from './version.js';
export { Node, type NodeOptions, type Awaitable, type Question } from './node.js';
export type {
  NodeRef,
  NodeTypes,
  AnswerMap,
  OpenAnswers,
  InputOf,
  OutputOf,
  AnswersOf,
  IdOf,
  Skippable,
  NodeInput,
  DepIds,
  FlowInput,
  FlowOutput,
  FlowAnswers,
  MergeAnswers,
  RenamedAnswers,
  FlowTypes,
  PrefixAnswers,
  HumanAnswer,
  AnswerTo,
} from './node-types.js';
export type { NodeContext, InputRequest, InputAnswer, HumanInputChannel } from './node-context.js';
export { PendingInputSignal } from './pending-input-signal.js';
export { Flow, type FlowOptions, type FlowConstructor } from './flow.js';
export { Workflow, type WorkflowOptions, type RunOptions, type ResumeOptions, type ShutdownOptions, type PendingInput } from './workflow.js';
export { Handoff } from './handoff.js';
export type { RunResult, RunStatus, RunWarning } from './run-result.js';
export {
  EventBus,
  type WorkflowEvent,
  type WorkflowEventType,
  type WorkflowEventListener,
  type WorkflowEventMap,
  type WorkflowEventOf,
  type AnyWorkflowEvent,
} from './event-bus.js';
export { childContext, executeChild, type ChildOptions, type ChildProgress } from './child-context.js';
export { type Clock, systemClock } from './clock.js';
export { RetryOptions, NodeDefaults, type RetryPolicy } from './retry-policy.js';
export type { NodeRetrying } from './attempts.js';
export * from '../telemetry/index.js';
