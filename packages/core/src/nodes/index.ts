export { FunctionNode, type FunctionNodeOptions } from './function-node.js';
export { Choice, type ChoiceOptions } from './choice.js';
export { HumanInput, type HumanInputOptions } from './human-input.js';
