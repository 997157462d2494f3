import type { z } from 'zod';
import { Node, type Awaitable, type NodeOptions } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import type { DepIds, NodeInput, NodeRef, NodeTypes, Skippable } from '../engine/node-types.js';

export interface FunctionNodeOptions<I, O, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]>
  extends NodeOptions<I, Id, D> {
  run: (input: I, ctx: NodeContext) => Awaitable<O>;
  /** See `NodeOptions.outputSchema`; its output must be the type `run` returns, so the node's type stays true. */
  outputSchema?: z.ZodType<NoInfer<O>>;
}

/** Wraps a function. It saves no state of its own, so a resume runs it again unless it completed. */
export interface FunctionNode<I = any, O = any, Id extends string = string, Deps extends string = string> extends Node<I, O, Id, Deps> {
  readonly nodeType: 'function';
  readonly '~types'?: NodeTypes<I, O, {}>;
  execute(input: I, ctx: NodeContext): Awaitable<O>;
}

/** `when` or `branch` make a node skippable: dependents that take several inputs may get `undefined` from it. */
export type SkipOptions<I> = { branch: string } | { when: (input: I, ctx: NodeContext) => Awaitable<boolean> };

/**
 * `new FunctionNode({ id, dependsOn?, run })`. Without type arguments everything is inferred: `run`'s input from the
 * nodes in `dependsOn` (from your annotation when there are none, or when they are named by id), its output from
 * what `run` returns. `new FunctionNode<Input, Output>(...)` with explicit type arguments works as before.
 */
export interface FunctionNodeConstructor {
  new <const Id extends string, O, I, const D extends readonly NodeRef[] = []>(
    options: FunctionNodeOptions<NodeInput<D, I>, O, Id, D> & SkipOptions<NodeInput<D, I>>,
  ): FunctionNode<NodeInput<D, I>, O, Id, DepIds<D>> & Skippable;
  new <const Id extends string, O, I, const D extends readonly NodeRef[] = []>(
    options: FunctionNodeOptions<NodeInput<D, I>, O, Id, D>,
  ): FunctionNode<NodeInput<D, I>, O, Id, DepIds<D>>;
  new <I, O = any>(options: FunctionNodeOptions<NoInfer<I>, NoInfer<O>>): FunctionNode<I, O>;
  readonly prototype: FunctionNode;
}

export const FunctionNode = class FunctionNode extends Node {
  readonly nodeType = 'function';
  private readonly fn: FunctionNodeOptions<unknown, unknown>['run'];

  constructor(options: FunctionNodeOptions<unknown, unknown>) {
    super(options);
    this.fn = options.run;
  }

  execute(input: unknown, ctx: NodeContext): Awaitable<unknown> {
    return this.fn(input, ctx);
  }
} as FunctionNodeConstructor;
