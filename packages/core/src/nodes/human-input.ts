import type { z } from 'zod';
import { Node, type NodeOptions } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import { assertZodSchema } from '../util/zod-schema.js';

export interface HumanInputOptions<S extends z.ZodType, I> extends NodeOptions<I> {
  /** Shown to the human; a function gets the node's input. */
  prompt: string | ((input: I) => string);
  /** The answer must satisfy it (validated before a resume changes anything); its JSON Schema is stored with the request. */
  schema: S;
  metadata?: Record<string, unknown>;
  expiresInMs?: number;
}

/**
 * Asks a human. Without a live channel the run pauses at once (`pending_input`); the answer comes back
 * through `workflow.resume({ input: { [nodePath]: answer } })` and becomes this node's output.
 */
export class HumanInput<S extends z.ZodType = z.ZodType, I = any> extends Node<I, z.output<S>> {
  readonly nodeType = 'human_input';
  readonly schema: S;
  private readonly options: HumanInputOptions<S, I>;

  constructor(options: HumanInputOptions<S, I>) {
    super(options);
    assertZodSchema(options.schema, `HumanInput "${options.id}" schema`);
    this.schema = options.schema;
    this.options = options;
  }

  execute(input: I, ctx: NodeContext): Promise<z.output<S>> {
    const { prompt, metadata, expiresInMs } = this.options;
    return ctx.requestInput({
      nodePath: ctx.nodePath,
      prompt: typeof prompt === 'function' ? prompt(input) : prompt,
      schema: this.schema,
      ...(metadata ? { metadata } : {}),
      ...(expiresInMs === undefined ? {} : { expiresInMs }),
    });
  }

  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    return subPath === '' ? this.schema : undefined;
  }
}
