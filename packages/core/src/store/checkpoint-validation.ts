import { CorruptCheckpointError, InvalidArgumentError } from '../errors.js';
import {
  CheckpointStatus,
  FlowCheckpoint,
  NodeStatus,
  type NodeCheckpointState,
  type PendingInputContext,
  type TraceContext,
} from '../models/checkpoint.js';
import { assertSafeId } from './safe-id.js';

/**
 * Validates a user-provided checkpoint and returns the copy to store (unknown keys dropped, as zod does).
 *
 * zod's `safeParse` is a large share of a small save's CPU, so a hand-written check of the same schema runs
 * first. It is a strict subset of the zod schema: whenever it meets anything it is not sure about (a missing
 * key, a wrong type, a non-plain object, symbol or non-enumerable keys) it gives up and zod decides, so every
 * rejection and its message still come from zod. Tests check that both agree on what they accept.
 */
export function validateCheckpoint(checkpoint: FlowCheckpoint): FlowCheckpoint {
  const states = (checkpoint as { nodeStates?: unknown } | null)?.nodeStates;
  if (states !== null && typeof states === 'object' && Object.hasOwn(states, '__proto__')) {
    // zod cannot validate (and would drop) this key; refuse it rather than store something unchecked
    throw new InvalidArgumentError("Invalid checkpoint: '__proto__' cannot be a node id in nodeStates.");
  }
  const cp = fastCheckpoint(checkpoint) ?? zodCheckpoint(checkpoint);
  assertSafeId(cp.id, 'checkpoint id');
  assertSafeId(cp.runId, 'runId');
  assertSafeId(cp.flowId, 'flowId');
  if (cp.workflowId !== undefined) assertSafeId(cp.workflowId, 'workflowId');
  if (cp.tenantId !== undefined) assertSafeId(cp.tenantId, 'tenantId');
  if (cp.parentCheckpointId !== null) assertSafeId(cp.parentCheckpointId, 'parentCheckpointId');
  return cp;
}

function zodCheckpoint(checkpoint: FlowCheckpoint): FlowCheckpoint {
  const parsed = FlowCheckpoint.safeParse(checkpoint);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const error = new InvalidArgumentError(`Invalid checkpoint: ${describeIssues(issues)}`);
  (error as InvalidArgumentError & { issues: unknown }).issues = issues;
  throw error;
}

function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  return `${shown.join('; ')}${issues.length > 5 ? ` (+${issues.length - 5} more)` : ''}`;
}

/**
 * A decoded checkpoint, returned as is when it matches the `FlowCheckpoint` schema; otherwise a
 * `CorruptCheckpointError`, so a load never hands out an object its own types do not describe.
 */
export function assertStoredCheckpoint(cp: FlowCheckpoint): FlowCheckpoint {
  if (fastCheckpoint(cp) !== undefined) return cp;
  const parsed = FlowCheckpoint.safeParse(cp);
  if (parsed.success) return cp;
  throw new CorruptCheckpointError(`Checkpoint ${String(cp.id)} is corrupt: it does not match the checkpoint schema (${describeIssues(parsed.error.issues)}).`);
}

/** `assertStoredCheckpoint` for a summary (a checkpoint without its state). */
export function assertStoredSummary<S extends Omit<FlowCheckpoint, 'nodeStates' | 'originalInput' | 'originalConfig'>>(summary: S): S {
  // Object.assign, not a spread with extra keys: V8 builds that spread slowly (~10 µs, more than the check itself)
  assertStoredCheckpoint(Object.assign({ nodeStates: {}, originalInput: undefined, originalConfig: {} }, summary));
  return summary;
}

/** Thrown inside the fast path to hand the decision to zod. */
const UNSURE: unique symbol = Symbol('unsure');

const CHECKPOINT_STATUSES: ReadonlySet<unknown> = new Set(CheckpointStatus.options);
const NODE_STATUSES: ReadonlySet<unknown> = new Set(NodeStatus.options);

/** The validated copy, or undefined when zod has to decide. Exported for the agreement tests. */
export function fastCheckpoint(input: unknown): FlowCheckpoint | undefined {
  try {
    const o = plain(input);
    const cp: FlowCheckpoint = {
      id: nonEmpty(req(o, 'id')),
      flowId: nonEmpty(req(o, 'flowId')),
      runId: nonEmpty(req(o, 'runId')),
      seq: int(req(o, 'seq'), 0),
      parentCheckpointId: nullableString(req(o, 'parentCheckpointId')),
      status: member(req(o, 'status'), CHECKPOINT_STATUSES) as FlowCheckpoint['status'],
      nodeStates: nodeStates(req(o, 'nodeStates')),
      completedNodeIds: list(req(o, 'completedNodeIds'), string),
      pendingNodeIds: list(req(o, 'pendingNodeIds'), string),
      originalInput: req(o, 'originalInput'),
      originalConfig: record(req(o, 'originalConfig')),
      pendingInputs: list(req(o, 'pendingInputs'), pendingInput),
      createdAt: date(req(o, 'createdAt')),
      updatedAt: date(req(o, 'updatedAt')),
      schemaVersion: int(req(o, 'schemaVersion'), 1),
      libraryVersion: string(req(o, 'libraryVersion')),
      metadata: record(req(o, 'metadata')),
    };
    if ('workflowId' in o) cp.workflowId = optional(o.workflowId, string);
    if ('tenantId' in o) cp.tenantId = optional(o.tenantId, string);
    if ('traceContext' in o) cp.traceContext = optional(o.traceContext, traceContext);
    return cp;
  } catch (error) {
    if (error === UNSURE) return undefined;
    throw error;
  }
}

function nodeStates(value: unknown): Record<string, NodeCheckpointState> {
  const o = record(value);
  const out: Record<string, NodeCheckpointState> = {};
  for (const key of Object.keys(o)) out[key] = nodeState(o[key]);
  return out;
}

function nodeState(value: unknown): NodeCheckpointState {
  const o = plain(value);
  // Same key order as zod's output (the schema's), so the encoded node blob and its hash do not depend on the path.
  const state = { nodeId: string(req(o, 'nodeId')), nodeType: string(req(o, 'nodeType')), status: member(req(o, 'status'), NODE_STATUSES) } as NodeCheckpointState;
  // z.unknown().optional() keeps a present key even when its value is undefined
  if ('input' in o) state.input = o.input;
  if ('output' in o) state.output = o.output;
  if ('error' in o) state.error = optional(o.error, nodeError);
  if ('internalState' in o) state.internalState = o.internalState;
  if ('stateVersion' in o) state.stateVersion = optional(o.stateVersion, (v) => int(v, 0));
  if ('startedAt' in o) state.startedAt = optional(o.startedAt, date);
  if ('completedAt' in o) state.completedAt = optional(o.completedAt, date);
  state.attempt = int(req(o, 'attempt'), 0);
  if ('lastError' in o) state.lastError = optional(o.lastError, nodeError);
  if ('nextAttemptAt' in o) state.nextAttemptAt = optional(o.nextAttemptAt, date);
  if ('attemptsUsed' in o) state.attemptsUsed = optional(o.attemptsUsed, (v) => int(v, 1));
  return state;
}

function nodeError(value: unknown): NonNullable<NodeCheckpointState['error']> {
  const o = plain(value);
  const error: NonNullable<NodeCheckpointState['error']> = { name: string(req(o, 'name')), message: string(req(o, 'message')) };
  if ('code' in o) error.code = optional(o.code, string);
  return error;
}

function pendingInput(value: unknown): PendingInputContext {
  const o = plain(value);
  const pending = { nodePath: nonEmpty(req(o, 'nodePath')), prompt: string(req(o, 'prompt')), schema: record(req(o, 'schema')) } as PendingInputContext;
  if ('requestId' in o) pending.requestId = optional(o.requestId, nonEmpty);
  pending.requestedAt = date(req(o, 'requestedAt'));
  if ('expiresAt' in o) pending.expiresAt = optional(o.expiresAt, date);
  pending.metadata = record(req(o, 'metadata'));
  return pending;
}

function traceContext(value: unknown): TraceContext {
  const o = plain(value);
  const trace: TraceContext = { traceparent: string(req(o, 'traceparent')) };
  if ('tracestate' in o) trace.tracestate = optional(o.tracestate, string);
  return trace;
}

// ---- primitives: each returns the value when it certainly matches the zod type, else throws UNSURE ----

/** A plain object whose own keys are all enumerable strings (what both z.object and z.record read the same way). */
function plain(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw UNSURE;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw UNSURE;
  if (Reflect.ownKeys(value).length !== Object.keys(value).length) throw UNSURE;
  return value as Record<string, unknown>;
}

/** z.record(z.string(), z.unknown()) copies the object; so does this. */
function record(value: unknown): Record<string, unknown> {
  const o = plain(value);
  if (Object.hasOwn(o, '__proto__')) throw UNSURE;
  return { ...o };
}

function req(o: Record<string, unknown>, key: string): unknown {
  if (!(key in o)) throw UNSURE;
  return o[key];
}

function optional<T>(value: unknown, check: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

function string(value: unknown): string {
  if (typeof value !== 'string') throw UNSURE;
  return value;
}

function nonEmpty(value: unknown): string {
  if (string(value).length === 0) throw UNSURE;
  return value as string;
}

function nullableString(value: unknown): string | null {
  return value === null ? null : string(value);
}

function int(value: unknown, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw UNSURE;
  return value as number;
}

function member(value: unknown, allowed: ReadonlySet<unknown>): unknown {
  if (!allowed.has(value)) throw UNSURE;
  return value;
}

function date(value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw UNSURE;
  return value;
}

/** z.array(item) copies the array and reads holes as undefined (which no item type here accepts). */
function list<T>(value: unknown, item: (value: unknown) => T): T[] {
  if (!Array.isArray(value)) throw UNSURE;
  const out = new Array<T>(value.length);
  for (let i = 0; i < value.length; i += 1) {
    if (!(i in value)) throw UNSURE;
    out[i] = item(value[i]);
  }
  return out;
}
