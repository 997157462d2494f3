export { FunctionNode, type FunctionNodeOptions, type FunctionNodeConstructor, type SkipOptions } from './function-node.js';
export { Choice, type ChoiceOptions, type ChoiceConstructor } from './choice.js';
export { HumanInput, type HumanInputOptions, type HumanInputConstructor } from './human-input.js';
export { tool, type ToolOptions } from './tool.js';
export { Agent, type AgentOptions, type AgentConstructor } from './agent.js';
export type { AgentState } from './agent-run.js';
export { MapNode, type MapNodeConstructor, type MapOptions, type MapState, type IterationRecord } from './map-node.js';
export { Subflow, type SubflowConstructor, type SubflowOptions, type SubflowState } from './subflow.js';
export {
  LinearOrchestrator,
  type LinearOrchestratorConstructor,
  type LinearOrchestratorOptions,
  type LinearOrchestratorState,
  type LinearOrchestratorOutput,
  type Task,
  type TaskPlanner,
} from './linear-orchestrator.js';
export {
  GraphOrchestrator,
  type GraphOrchestratorConstructor,
  END,
  type GraphOrchestratorOptions,
  type GraphOrchestratorState,
  type GraphOrchestratorOutput,
  type GraphStateDefinition,
  type GraphStep,
  type GraphView,
} from './graph-orchestrator.js';
