// The engine scenarios of DESIGN §9 / issue 10 part 3, run through the public Workflow API (see README.md):
// (a) a 50-node, 8-wide flow on SQLite and in memory; (b) engine overhead with checkpointing off against a plain
// loop; (c) 100 concurrent runs on each server backend (run from main.ts while its server case is open);
// (d) resume of a 200-node run and of a 200-message agent on SQLite. A scenario that fails is recorded with its
// error (its targets are then left out) and makes the bench exit non-zero: it is the engine failing.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { MemoryAdapter } from '@savepoint/core';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import type { ConcurrentResult } from './concurrent-runs.js';
import { engineOverhead, type OverheadResult } from './engine-overhead.js';
import { parallelFlowThroughput, type ThroughputResult } from './engine-throughput.js';
import { resumeScenarios, type ResumeResults } from './resume.js';

export type Outcome<T> = T | { error: string };

export interface EngineResults {
  parallel: Record<string, Outcome<ThroughputResult>>;
  overhead: Outcome<OverheadResult>;
  resume: Outcome<ResumeResults>;
  /** Filled by main.ts, per server backend that answered. */
  concurrent: Record<string, Outcome<ConcurrentResult>>;
}

export function succeeded<T extends object>(outcome: Outcome<T> | undefined): outcome is T {
  return outcome !== undefined && !('error' in outcome);
}

/** Runs `work`; a failure becomes `{ error }`, is printed, and sets a non-zero exit code. */
export async function attempt<T>(name: string, work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await work();
  } catch (error) {
    console.error(`${name} FAILED: ${String((error as Error)?.stack ?? error)}`);
    process.exitCode = 1;
    return { error: String((error as Error)?.message ?? error) };
  }
}

/** Scenarios (a), (b) and (d): the ones that need no server. */
export async function localEngineScenarios(root: string): Promise<EngineResults> {
  mkdirSync(root, { recursive: true });
  const sqlite = new SqliteBackend({ path: join(root, 'parallel.db') });
  const parallel = {
    memory: await attempt('engine parallel flow (memory)', () => parallelFlowThroughput(new MemoryAdapter())),
    sqlite: await attempt('engine parallel flow (sqlite)', () => parallelFlowThroughput(sqlite)),
  };
  await sqlite.close();
  return {
    parallel,
    overhead: await attempt('engine overhead', engineOverhead),
    resume: await attempt('engine resume', () => resumeScenarios(root)),
    concurrent: {},
  };
}
