import type { z } from 'zod';
import { Node, type NodeOptions, type Question } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import type { DepIds, HumanAnswer, NodeInput, NodeRef, NodeTypes, Skippable } from '../engine/node-types.js';
import { assertZodSchema } from '../util/zod-schema.js';
import type { SkipOptions } from './function-node.js';

export interface HumanInputOptions<S extends z.ZodType, I, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]>
  extends NodeOptions<I, Id, D> {
  /** Shown to the human; a function gets the node's input. */
  prompt: string | ((input: I) => string);
  /** The answer must satisfy it (validated before a resume changes anything); its JSON Schema is stored with the request. */
  schema: S;
  metadata?: Record<string, unknown>;
  expiresInMs?: number;
}

/**
 * Asks a human. Without a live channel the run pauses at once (`pending_input`); the answer comes back through
 * `workflow.resume({ runId, answers: [node.answer(value)] })` (or `input: { [nodePath]: value }`) and becomes this
 * node's output: the schema's output, so transforms apply.
 */
export interface HumanInput<S extends z.ZodType = z.ZodType, I = any, Id extends string = string, Deps extends string = string>
  extends Node<I, z.output<S>, Id, Deps> {
  readonly nodeType: 'human_input';
  readonly schema: S;
  readonly '~types'?: NodeTypes<I, z.output<S>, { [P in Id]: z.input<S> }>;
  execute(input: I, ctx: NodeContext): Promise<z.output<S>>;
  /**
   * An answer to this node's question for `workflow.resume({ runId, answers: [...] })`, its value checked against the
   * schema by the compiler (and by the resume at run time). Inside a subflow or map, name the full path:
   * `approve.answer(value, { nodePath: 'review/approve' })`.
   */
  answer(value: z.input<S>, options?: { requestId?: string }): HumanAnswer<Id, z.input<S>>;
  answer<const P extends string>(value: z.input<S>, options: { nodePath: P; requestId?: string }): HumanAnswer<P, z.input<S>>;
}

/** `new HumanInput({ id, prompt, schema, dependsOn? })`; like `FunctionNode`, its input is inferred from `dependsOn`. */
export interface HumanInputConstructor {
  new <const Id extends string, S extends z.ZodType, I, const D extends readonly NodeRef[] = []>(
    options: HumanInputOptions<S, NodeInput<D, I>, Id, D> & SkipOptions<NodeInput<D, I>>,
  ): HumanInput<S, NodeInput<D, I>, Id, DepIds<D>> & Skippable;
  new <const Id extends string, S extends z.ZodType, I, const D extends readonly NodeRef[] = []>(
    options: HumanInputOptions<S, NodeInput<D, I>, Id, D>,
  ): HumanInput<S, NodeInput<D, I>, Id, DepIds<D>>;
  new <S extends z.ZodType, I = any>(options: HumanInputOptions<NoInfer<S>, NoInfer<I>>): HumanInput<S, I>;
  readonly prototype: HumanInput;
}

export const HumanInput = class HumanInput extends Node {
  readonly nodeType = 'human_input';
  readonly schema: z.ZodType;
  private readonly options: HumanInputOptions<z.ZodType, unknown>;

  constructor(options: HumanInputOptions<z.ZodType, unknown>) {
    super(options);
    assertZodSchema(options.schema, `HumanInput "${options.id}" schema`);
    this.schema = options.schema;
    this.options = options;
  }

  execute(input: unknown, ctx: NodeContext): Promise<unknown> {
    const { prompt, metadata, expiresInMs } = this.options;
    return ctx.requestInput({
      nodePath: ctx.nodePath,
      prompt: typeof prompt === 'function' ? prompt(input) : prompt,
      schema: this.schema,
      ...(metadata ? { metadata } : {}),
      ...(expiresInMs === undefined ? {} : { expiresInMs }),
    });
  }

  answer(value: unknown, options: { nodePath?: string; requestId?: string } = {}): HumanAnswer {
    const { nodePath = this.id, requestId } = options;
    return requestId === undefined ? { nodePath, value } : { nodePath, value, requestId };
  }

  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    return subPath === '' ? this.schema : undefined;
  }

  override questions(): Question[] {
    return [{ nodePath: '', schema: this.schema }];
  }
} as HumanInputConstructor;
