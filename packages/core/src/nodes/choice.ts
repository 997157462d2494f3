import { InvalidArgumentError } from '../errors.js';
import { Node, type Awaitable, type NodeOptions } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import type { DepIds, NodeInput, NodeRef, NodeTypes, Skippable } from '../engine/node-types.js';
import type { SkipOptions } from './function-node.js';

export interface ChoiceOptions<I, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]> extends NodeOptions<I, Id, D> {
  /** Returns the key of the branch to take; nodes with a matching `branch` run, the others are skipped. */
  choose: (input: I, ctx: NodeContext) => Awaitable<string>;
}

/**
 * Picks a branch. Its output is the chosen key; once recorded it is reused by every resume, never
 * re-evaluated, so a run cannot change course halfway through.
 */
export interface Choice<I = any, Id extends string = string, Deps extends string = string> extends Node<I, string, Id, Deps> {
  readonly nodeType: 'choice';
  readonly '~types'?: NodeTypes<I, string, {}>;
  execute(input: I, ctx: NodeContext): Promise<string>;
}

/** `new Choice({ id, dependsOn?, choose })`; like `FunctionNode`, its input is inferred from `dependsOn`. */
export interface ChoiceConstructor {
  new <const Id extends string, I, const D extends readonly NodeRef[] = []>(
    options: ChoiceOptions<NodeInput<D, I>, Id, D> & SkipOptions<NodeInput<D, I>>,
  ): Choice<NodeInput<D, I>, Id, DepIds<D>> & Skippable;
  new <const Id extends string, I, const D extends readonly NodeRef[] = []>(options: ChoiceOptions<NodeInput<D, I>, Id, D>): Choice<NodeInput<D, I>, Id, DepIds<D>>;
  new <I>(options: ChoiceOptions<NoInfer<I>>): Choice<I>;
  readonly prototype: Choice;
}

export const Choice = class Choice extends Node {
  readonly nodeType = 'choice';
  override readonly isBranching = true;
  private readonly choose: ChoiceOptions<unknown>['choose'];

  constructor(options: ChoiceOptions<unknown>) {
    super(options);
    this.choose = options.choose;
  }

  async execute(input: unknown, ctx: NodeContext): Promise<string> {
    const key = await this.choose(input, ctx);
    if (typeof key !== 'string') {
      throw new InvalidArgumentError(`Choice "${this.id}" must return a branch key (a string), got ${typeof key}.`);
    }
    return key;
  }
} as ChoiceConstructor;
