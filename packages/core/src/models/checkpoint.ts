import * as zod from 'zod';
import { z } from 'zod';
import { assertZod4 } from '../util/zod-schema.js';

// index.ts loads this module first of those that build schemas: a zod that is not zod 4 is named here, not
// met later as an unrelated TypeError.
assertZod4(zod);

export const CHECKPOINT_SCHEMA_VERSION = 1;

export const CheckpointStatus = z.enum(['active', 'paused', 'completed', 'failed', 'canceled', 'pending_input']);
export type CheckpointStatus = z.infer<typeof CheckpointStatus>;

export const NodeStatus = z.enum(['success', 'failure', 'skip', 'running', 'pending_input', 'canceled']);
export type NodeStatus = z.infer<typeof NodeStatus>;

export const NodeError = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
});
export type NodeError = z.infer<typeof NodeError>;

export const NodeCheckpointState = z.object({
  nodeId: z.string(),
  nodeType: z.string(),
  status: NodeStatus,
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  error: NodeError.optional(),
  /** What the node itself saved (agent messages, map results...). */
  internalState: z.unknown().optional(),
  /** Version of `internalState`'s shape, for node-level migrations. */
  stateVersion: z.number().int().nonnegative().optional(),
  startedAt: z.date().optional(),
  completedAt: z.date().optional(),
  /** The node's latest attempt (1-based); never restarts within a run: retries and resumes both count on. */
  attempt: z.number().int().nonnegative(),
  /** The error of the latest failed attempt, also while a retry is pending. */
  lastError: NodeError.optional(),
  /**
   * Set while the node waits out a retry back-off: when the next attempt is due. A resume from such a checkpoint
   * waits only what is left of it, and counts on from `attemptsUsed`.
   */
  nextAttemptAt: z.date().optional(),
  /** Attempts of the current retry series (the `retry.maxAttempts` budget), while a retry is pending. */
  attemptsUsed: z.number().int().positive().optional(),
});
export type NodeCheckpointState = z.infer<typeof NodeCheckpointState>;

export const PendingInputContext = z.object({
  /** Where the input is awaited, e.g. `approve`, `research/agent/tool:approve`, `map-1[3]/approve`. */
  nodePath: z.string().min(1),
  /**
   * Identifies this question (a UUIDv7). A re-asked prompt after a resume keeps it; a new question at the
   * same nodePath (asked again after an answer) gets a new one. `resume({ requestIds })` binds answers to it.
   * Always set by the engine; optional only so hand-built checkpoints and older ones still parse.
   */
  requestId: z.string().min(1).optional(),
  prompt: z.string(),
  /** JSON Schema of the expected answer, generated from the node's zod schema. */
  schema: z.record(z.string(), z.unknown()),
  requestedAt: z.date(),
  expiresAt: z.date().optional(),
  metadata: z.record(z.string(), z.unknown()),
});
export type PendingInputContext = z.infer<typeof PendingInputContext>;

export const TraceContext = z.object({
  traceparent: z.string(),
  tracestate: z.string().optional(),
});
export type TraceContext = z.infer<typeof TraceContext>;

export const FlowCheckpoint = z.object({
  /** UUIDv7: sortable by creation time across runs. */
  id: z.string().min(1),
  flowId: z.string().min(1),
  workflowId: z.string().optional(),
  runId: z.string().min(1),
  /** Per-run logical counter; ordering inside a run never depends on clocks. */
  seq: z.number().int().nonnegative(),
  parentCheckpointId: z.string().nullable(),
  status: CheckpointStatus,
  nodeStates: z.record(z.string(), NodeCheckpointState),
  completedNodeIds: z.array(z.string()),
  pendingNodeIds: z.array(z.string()),
  originalInput: z.unknown(),
  originalConfig: z.record(z.string(), z.unknown()),
  pendingInputs: z.array(PendingInputContext),
  createdAt: z.date(),
  updatedAt: z.date(),
  schemaVersion: z.number().int().positive(),
  libraryVersion: z.string(),
  tenantId: z.string().optional(),
  traceContext: TraceContext.optional(),
  metadata: z.record(z.string(), z.unknown()),
});
export type FlowCheckpoint = z.infer<typeof FlowCheckpoint>;
