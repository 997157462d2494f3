import { Node, type Awaitable, type NodeOptions } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';

export interface FunctionNodeOptions<I, O> extends NodeOptions<I> {
  run: (input: I, ctx: NodeContext) => Awaitable<O>;
}

/** Wraps a function. It saves no state of its own, so a resume runs it again unless it completed. */
export class FunctionNode<I = any, O = any> extends Node<I, O> {
  readonly nodeType = 'function';
  private readonly fn: FunctionNodeOptions<I, O>['run'];

  constructor(options: FunctionNodeOptions<I, O>) {
    super(options);
    this.fn = options.run;
  }

  execute(input: I, ctx: NodeContext): Awaitable<O> {
    return this.fn(input, ctx);
  }
}
