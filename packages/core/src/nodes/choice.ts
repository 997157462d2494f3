import { InvalidArgumentError } from '../errors.js';
import { Node, type Awaitable, type NodeOptions } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';

export interface ChoiceOptions<I> extends NodeOptions<I> {
  /** Returns the key of the branch to take; nodes with a matching `branch` run, the others are skipped. */
  choose: (input: I, ctx: NodeContext) => Awaitable<string>;
}

/**
 * Picks a branch. Its output is the chosen key; once recorded it is reused by every resume, never
 * re-evaluated, so a run cannot change course halfway through.
 */
export class Choice<I = any> extends Node<I, string> {
  readonly nodeType = 'choice';
  override readonly isBranching = true;
  private readonly choose: ChoiceOptions<I>['choose'];

  constructor(options: ChoiceOptions<I>) {
    super(options);
    this.choose = options.choose;
  }

  async execute(input: I, ctx: NodeContext): Promise<string> {
    const key = await this.choose(input, ctx);
    if (typeof key !== 'string') {
      throw new InvalidArgumentError(`Choice "${this.id}" must return a branch key (a string), got ${typeof key}.`);
    }
    return key;
  }
}
