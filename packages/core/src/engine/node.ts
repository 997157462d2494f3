import type { z } from 'zod';
import { assertSafeId } from '../store/safe-id.js';
import { assertZodSchema } from '../util/zod-schema.js';
import type { NodeContext } from './node-context.js';
import type { NodeRef, NodeTypes, OpenAnswers } from './node-types.js';
import { parseExecutionOption, RetryOptions, type RetryPolicy, TimeoutMs } from './retry-policy.js';

export type Awaitable<T> = T | Promise<T>;

export interface NodeOptions<I = unknown, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]> {
  /** Unique in its flow; letters, digits, `.`, `_`, `:` or `-`. */
  id: Id;
  /**
   * Nodes (or their ids) whose outputs this node needs. Pass the nodes themselves and the node's input is typed
   * from them: one dependency's output, or `{ [id]: output }` for several.
   */
  dependsOn?: D;
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
  /**
   * Checked before the node runs (after `when`), with zod's output (transforms applied) passed on as the input. A
   * mismatch fails the node at once with `InvalidNodeInputError`: retrying cannot change its input.
   */
  inputSchema?: z.ZodType<NoInfer<I>>;
  /**
   * Checked on every attempt's result, with zod's output recorded as the node's output. A mismatch fails the
   * attempt with `InvalidOutputError` (retried like any failure when the node's `retry` allows: a model may do better).
   */
  outputSchema?: z.ZodType;
}

/**
 * A step of a flow. A node is a definition: one instance serves every run (also concurrent ones),
 * so it keeps no per-run state; what it must remember across a crash goes through
 * `ctx.saveProgress(state)` and comes back as `ctx.resumeState`.
 */
export abstract class Node<I = any, O = any, Id extends string = string, Deps extends string = string> {
  readonly id: Id;
  readonly dependsOn: readonly Deps[];
  readonly branch: string | undefined;
  readonly description: string | undefined;
  readonly argsSchema: z.ZodType | undefined;
  /** The node's own retry policy; undefined: the flow's or workflow's default applies. */
  readonly retry: RetryPolicy | undefined;
  /** The node's own attempt time limit; undefined: the flow's or workflow's default applies. */
  readonly timeoutMs: number | undefined;
  readonly inputSchema: z.ZodType | undefined;
  readonly outputSchema: z.ZodType | undefined;
  /**
   * Type-level only, never set: what the compiler knows of the node (see `InputOf`, `OutputOf`, `AnswersOf`). A
   * custom node may wait for answers anywhere below it; subclasses that know their questions narrow `answers`.
   */
  declare readonly '~types'?: NodeTypes<I, O, OpenAnswers>;
  /** Short type name stored in checkpoints, e.g. `function`, `choice`, `human_input`. */
  abstract readonly nodeType: string;
  /** Version of the shape this node saves with `saveProgress`; bump it and implement `migrateState`. */
  readonly stateVersion: number = 1;
  /** True for nodes whose output is a branch key other nodes select with `branch` (see `Choice`). */
  readonly isBranching: boolean = false;
  private readonly condition: NodeOptions<I>['when'];

  constructor(options: NodeOptions<I, Id>) {
    assertSafeId(options.id, 'Node id');
    this.id = options.id;
    this.dependsOn = (options.dependsOn ?? []).map((dep) => (typeof dep === 'string' ? dep : dep.id)) as Deps[];
    this.branch = options.branch;
    this.description = options.description;
    if (options.argsSchema !== undefined) assertZodSchema(options.argsSchema, `Node "${options.id}" argsSchema`);
    this.argsSchema = options.argsSchema;
    if (options.inputSchema !== undefined) assertZodSchema(options.inputSchema, `Node "${options.id}" inputSchema`);
    if (options.outputSchema !== undefined) assertZodSchema(options.outputSchema, `Node "${options.id}" outputSchema`);
    this.inputSchema = options.inputSchema;
    this.outputSchema = options.outputSchema;
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

  /**
   * The questions this node may ask, as sub-paths (`''` = the node itself, `[*]` = any index) with their schemas,
   * e.g. for a server to publish what each workflow's answers look like. Nodes that ask humans override it.
   */
  questions(): Question[] {
    return [];
  }
}

/** A question a node may ask: where (below the node, `[*]` = any index) and the schema its answer must satisfy. */
export interface Question {
  nodePath: string;
  schema: z.ZodType;
}

/** `questions` as seen from `prefix` up: `review/` + `check` = `review/check`. */
export function questionsBelow(prefix: string, questions: readonly Question[]): Question[] {
  return questions.map((q) => ({ nodePath: prefix + q.nodePath, schema: q.schema }));
}


/** What `node` saved in an earlier attempt, migrated through `migrateState` when its `stateVersion` differs. */
export function migratedState(node: Node, saved: unknown, savedVersion: number | undefined): unknown {
  return saved === undefined || savedVersion === node.stateVersion ? saved : node.migrateState(saved, savedVersion ?? 0);
}
