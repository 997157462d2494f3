import type { StorageAdapter } from '@savepoint/core';
import type { TestBackend } from './backends';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeWorkflows } = require('./fixture-workflows.cjs');

export interface SeededRuns {
  /** approval run: answered and finished (draft, approve, publish). */
  completed: string;
  /** approval runs waiting at `approve`. */
  waiting: string;
  waitingForModule: string;
  waitingToCancel: string;
  /** failing run: `explode` threw. */
  failed: string;
  /** a second finished approval run, damaged by the verify test. */
  victim: string;
}

/** Runs the fixture workflows for real against the backend, so the CLI reads what core wrote. */
export async function seedRuns(backend: TestBackend): Promise<SeededRuns> {
  const adapter: StorageAdapter = backend.open();
  try {
    const { approval, failing } = makeWorkflows(adapter);
    const finish = async (topic: string) => {
      const paused = await approval.run({ topic });
      const done = await approval.resume({ runId: paused.runId, input: { approve: { ok: true } } });
      if (done.status !== 'success') throw new Error(`seeding: ${done.status}`);
      return paused.runId as string;
    };
    const wait = async (topic: string) => {
      const paused = await approval.run({ topic });
      if (paused.status !== 'pending_input') throw new Error(`seeding: ${paused.status}`);
      return paused.runId as string;
    };
    const completed = await finish('cats');
    const waiting = await wait('dogs');
    const waitingForModule = await wait('birds');
    const waitingToCancel = await wait('fish');
    const failedRun = await failing.run({});
    if (failedRun.status !== 'failure') throw new Error(`seeding: ${failedRun.status}`);
    const victim = await finish('mice');
    return { completed, waiting, waitingForModule, waitingToCancel, failed: failedRun.runId, victim };
  } finally {
    await adapter.close?.();
  }
}
