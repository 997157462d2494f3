import type { CheckpointStatus } from '@savepoint/core';

/** Heads in these states take no answers and need no reaping (a failed run resumes only when asked). */
export const FINISHED: ReadonlySet<CheckpointStatus> = new Set(['completed', 'failed', 'canceled']);

/** What a caller that raced another worker for a run should treat as "someone else has it". */
export const CONTENDED_CODES: ReadonlySet<string> = new Set(['RUN_LOCKED', 'CHECKPOINT_CONFLICT', 'LEASE_LOST']);
