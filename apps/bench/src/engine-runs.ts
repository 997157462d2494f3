// What the engine scenarios share: a checkpointing Workflow over a given adapter, and counting the checkpoints
// each run commits (from the engine's own `checkpoint_created` events).
import { silentLogger, Workflow, type Flow, type StorageAdapter } from '@savepoint/core';

export const ENGINE_REPS = Number(process.env.BENCH_ENGINE_REPS ?? 7);

/** Checkpointing on, with every default except the logger (a failed write shows in the run's result). */
export function checkpointingWorkflow(flow: Flow, backend: StorageAdapter): Workflow {
  return new Workflow({ flow, checkpoint: { enabled: true, backend, logger: silentLogger } });
}

/** Counts `checkpoint_created` per run of `workflow`. */
export function checkpointCounter(workflow: Workflow): (runId: string) => number {
  const counts = new Map<string, number>();
  workflow.on('checkpoint_created', (event) => counts.set(event.runId, (counts.get(event.runId) ?? 0) + 1));
  return (runId) => counts.get(runId) ?? 0;
}

/** Throws unless the run ended as expected: a figure from a failed run would measure the failure. */
export function expectStatus(result: { status: string; runId: string; error?: Error }, status: string): void {
  if (result.status !== status) {
    throw new Error(`run ${result.runId} ended ${result.status}, expected ${status}${result.error ? `: ${result.error.message}` : ''}`);
  }
}
