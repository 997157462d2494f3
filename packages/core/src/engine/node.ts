import type { z } from 'zod';
import { assertSafeId } from '../store/safe-id.js';
import { assertZodSchema } from '../util/zod-schema.js';
import type { NodeContext } from './node-context.js';
import { parseExecutionOption, RetryOptions, type RetryPolicy, TimeoutMs } from './retry-policy.js';

export type Awaitable<T> = T | Promise<T>;

export interface NodeOptions<I = unknown> {
  /** Unique in its flow; letters, digits, `.`, `_`, `:` or `-`. */
  id: string;
  /** Nodes (or their ids) whose outputs this node needs. */
  dependsOn?: ReadonlyArray<Node | string>;
  /** When it returns false the node is skipped (status `skip`, output undefined). */
  when?: (input: I, ctx: NodeContext) => Awaitable<boolean>;
  /** Run only when the `Choice` this node depends on chose this key. */
  branch?: string;
  /** What the node does, in a sentence; an `Agent` shows it to the LLM when the node is one of its tools. */
  description?: string;
  /** The arguments an `Agent`'s model must pass when this node is one of its tools: shown as JSON Schema, validated before the call. */
  argsSchema?: z.ZodType;
  /**
   * Attempts and back-off when an execution throws (default: the flow's or workflow's `nodeDefaults`, else one
   * attempt). Retries happen inside one execution: `ctx.attempt` counts on, `ctx.idempotencyKey` stays the same.
   */
  retry?: RetryOptions;
  /** Each attempt's time limit: past it `ctx.signal` aborts and the attempt fails with `NodeTimeoutError`. Default: none. */
  timeoutMs?: number;
}

/**
 * A step of a flow. A node is a definition: one instance serves every run (also concurrent ones),
 * so it keeps no per-run state; what it must remember across a crash goes through
 * `ctx.saveProgress(state)` and comes back as `ctx.resumeState`.
 */
export abstract class Node<I = any, O = any> {
  readonly id: string;
  readonly dependsOn: readonly string[];
  readonly branch: string | undefined;
  readonly description: string | undefined;
  readonly argsSchema: z.ZodType | undefined;
  /** The node's own retry policy; undefined: the flow's or workflow's default applies. */
  readonly retry: RetryPolicy | undefined;
  /** The node's own attempt time limit; undefined: the flow's or workflow's default applies. */
  readonly timeoutMs: number | undefined;
  /** Short type name stored in checkpoints, e.g. `function`, `choice`, `human_input`. */
  abstract readonly nodeType: string;
  /** Version of the shape this node saves with `saveProgress`; bump it and implement `migrateState`. */
  readonly stateVersion: number = 1;
  /** True for nodes whose output is a branch key other nodes select with `branch` (see `Choice`). */
  readonly isBranching: boolean = false;
  private readonly condition: NodeOptions<I>['when'];

  constructor(options: NodeOptions<I>) {
    assertSafeId(options.id, 'Node id');
    this.id = options.id;
    this.dependsOn = (options.dependsOn ?? []).map((dep) => (typeof dep === 'string' ? dep : dep.id));
    this.branch = options.branch;
    this.description = options.description;
    if (options.argsSchema !== undefined) assertZodSchema(options.argsSchema, `Node "${options.id}" argsSchema`);
    this.argsSchema = options.argsSchema;
    this.condition = options.when;
    const owner = `Node "${options.id}"`;
    this.retry = options.retry === undefined ? undefined : parseExecutionOption(RetryOptions, options.retry, owner, 'retry');
    this.timeoutMs = options.timeoutMs === undefined ? undefined : parseExecutionOption(TimeoutMs, options.timeoutMs, owner, 'timeoutMs');
  }

  abstract execute(input: I, ctx: NodeContext): Awaitable<O>;

  /** Decides whether the node runs; the default asks the `when` option (if any). */
  when(input: I, ctx: NodeContext): Awaitable<boolean> {
    return this.condition ? this.condition(input, ctx) : true;
  }

  /** Turns state saved by an older `stateVersion` into the current shape. The default keeps it as is. */
  migrateState(state: unknown, _fromVersion: number): unknown {
    return state;
  }

  /**
   * The schema of the human input awaited at `subPath` below this node (`''` = the node itself), so
   * resume answers are validated before anything changes. Nodes that ask humans override it.
   */
  inputSchemaFor(_subPath: string): z.ZodType | undefined {
    return undefined;
  }
}

/** What `node` saved in an earlier attempt, migrated through `migrateState` when its `stateVersion` differs. */
export function migratedState(node: Node, saved: unknown, savedVersion: number | undefined): unknown {
  return saved === undefined || savedVersion === node.stateVersion ? saved : node.migrateState(saved, savedVersion ?? 0);
}
