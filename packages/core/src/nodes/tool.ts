import type { z } from 'zod';
import type { Awaitable } from '../engine/node.js';
import type { RetryOptions } from '../engine/retry-policy.js';
import type { NodeContext } from '../engine/node-context.js';
import { assertZodSchema } from '../util/zod-schema.js';
import { FunctionNode } from './function-node.js';

export interface ToolOptions<S extends z.ZodType, O> {
  /** The name the model calls it by (a safe id: letters, digits, `.`, `_`, `:`, `-`). */
  name: string;
  description: string;
  /** The arguments' schema: the model sees its JSON Schema; invalid arguments are reported back to it. */
  schema: S;
  /** `ctx.idempotencyKey` is unique per tool call and stable across resumes: pass it to side-effecting APIs. */
  run: (args: z.output<S>, ctx: NodeContext) => Awaitable<O>;
  /** Attempts of one call when it throws (inside the agent's execution; the call's idempotencyKey stays the same). */
  retry?: RetryOptions;
  /** Each attempt's time limit: past it the call's `ctx.signal` aborts and the attempt fails with `NodeTimeoutError`. */
  timeoutMs?: number;
}

/** A function an `Agent` may call: a `FunctionNode` with a description and an argument schema. */
export function tool<S extends z.ZodType, O>(options: ToolOptions<S, O>): FunctionNode<z.output<S>, O> {
  const { name, description, schema, run, retry, timeoutMs } = options;
  assertZodSchema(schema, `tool "${name}" schema`);
  return new FunctionNode({
    id: name,
    description,
    argsSchema: schema,
    run,
    ...(retry === undefined ? {} : { retry }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}
