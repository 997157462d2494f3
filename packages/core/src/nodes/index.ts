export { FunctionNode, type FunctionNodeOptions } from './function-node.js';
export { Choice, type ChoiceOptions } from './choice.js';
export { HumanInput, type HumanInputOptions } from './human-input.js';
export { tool, type ToolOptions } from './tool.js';
export { Agent, type AgentOptions } from './agent.js';
export type { AgentState } from './agent-run.js';
export { MapNode, type MapOptions, type MapState, type IterationRecord } from './map-node.js';
export { Subflow, type SubflowOptions, type SubflowState } from './subflow.js';
export {
  LinearOrchestrator,
  type LinearOrchestratorOptions,
  type LinearOrchestratorState,
  type LinearOrchestratorOutput,
  type Task,
  type TaskPlanner,
} from './linear-orchestrator.js';
export {
  GraphOrchestrator,
  END,
  type GraphOrchestratorOptions,
  type GraphOrchestratorState,
  type GraphOrchestratorOutput,
  type GraphStateDefinition,
  type GraphStep,
  type GraphView,
} from './graph-orchestrator.js';
