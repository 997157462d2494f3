// DESIGN §9 crash tests: worker processes (test/crash-worker.cjs, the BUILT packages) run one run of a 6-node
// workflow (a → (b, c) → d → e → f, durability 'sync', leaseTtlMs 300) and are SIGKILLed after seeded random
// delays; fresh workers take the run over once the dead one's lease has expired, until one finishes. Then the
// journal (a fsynced line when each node execution starts and one before it returns) is checked against the chain:
// invariants 2 (a committed node never runs again; dependents get its recorded output), 3 (interrupted nodes run
// again, with the same idempotency key), 5 (one worker at a time: RUN_LOCKED while the dead lease lives) and
// 6/7 (every checkpoint of the run loads; the chain is whole and `seq` strictly increases).
// Replay a failure with CRASH_SEED=<the printed seed>.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore, type FlowCheckpoint } from '@savepoint/core';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { openStorage, serverAvailable, type SharedStorage } from './storage.js';
import { killAllWorkers, spawnWorker, until, type WorkerProcess } from './workers.js';

const CRASH_WORKER = join(__dirname, 'crash-worker.cjs');
const KILLS = 12;
const MAX_DELAY_MS = 150;
const LEASE_TTL_MS = 300;
const INPUT = 4;

/** The worker's nodes: a = x + 1, b = a * 2, c = a + 10, d = b + c, e = d * 3, f = e - 1 (the flow's output). */
const DEPENDS_ON: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'], f: ['e'] };
const NODE_IDS = Object.keys(DEPENDS_ON);
const expectedValues = (x: number) => {
  const a = x + 1;
  const b = a * 2;
  const c = a + 10;
  const d = b + c;
  const e = d * 3;
  return { a, b, c, d, e, f: e - 1 };
};

const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;

/** mulberry32: small, seedable, good enough to pick kill delays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Execution {
  line: number;
  runId: string;
  node: string;
  attempt: number;
  key: string;
  phase: 'start' | 'end';
  tok: string;
  pid: number;
  inputs: string[];
}

function readJournal(path: string): Execution[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, index) => {
      const [runId, node, attempt, key, phase, tok, inputs] = line.split(' ');
      return {
        line: index,
        runId: runId!,
        node: node!,
        attempt: Number(attempt),
        key: key!,
        phase: phase as Execution['phase'],
        tok: tok!,
        pid: Number(tok!.split('.')[0]),
        inputs: inputs === '-' ? [] : inputs!.split(','),
      };
    });
}

interface Target {
  /** Merged into each worker's argv config. */
  worker: Record<string, unknown>;
  /** Opened once the workers are gone (SQLite: the test must not hold the file while they write). */
  openStore(): CheckpointStore;
  close(): Promise<void>;
}

const BACKENDS: Record<'sqlite' | 'file' | 'postgres', { available: () => boolean; open(dir: string): Promise<Target> }> = {
  sqlite: {
    available: () => true,
    async open(dir) {
      const path = join(dir, 'savepoint.db');
      let backend: SqliteBackend | undefined;
      return {
        worker: { backend: 'sqlite', path },
        openStore: () => new CheckpointStore((backend = new SqliteBackend({ path }))),
        close: async () => backend?.close(),
      };
    },
  },
  file: {
    available: () => true,
    async open(dir) {
      const store = join(dir, 'store');
      return {
        worker: { backend: 'file', dir: store },
        openStore: () => new CheckpointStore(new FileBackend({ dir: store })),
        close: async () => undefined, // holds no handle between calls
      };
    },
  },
  postgres: {
    available: () => serverAvailable('postgres'),
    async open() {
      const shared: SharedStorage = await openStorage('postgres');
      return { worker: shared.worker, openStore: () => shared.store, close: () => shared.close() };
    },
  },
};

const tempDirs: string[] = [];

afterEach(killAllWorkers);
afterAll(async () => {
  await killAllWorkers();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(BACKENDS) as Array<keyof typeof BACKENDS>)('%s: workers SIGKILLed at random points', (kind) => {
  const backend = BACKENDS[kind];
  const available = backend.available();
  const test = available ? it : it.skip;

  test(`up to ${KILLS} workers killed after 0–${MAX_DELAY_MS} ms, then the run completes: nothing committed runs again, the chain is intact`, async () => {
    const seed = (SEED ^ { sqlite: 0, file: 0x9e3779b9, postgres: 0x85ebca6b }[kind]) >>> 0;
    const random = prng(seed);
    const delays = Array.from({ length: KILLS }, () => Math.floor(random() * (MAX_DELAY_MS + 1)));
    console.log(`crash test ${kind}: CRASH_SEED=${SEED} (backend seed ${seed}), kill delays ${delays.join(', ')} ms`);

    const dir = mkdtempSync(join(tmpdir(), `sp-crash-${kind}-`));
    tempDirs.push(dir);
    const journalPath = join(dir, 'journal.log');
    const runId = `crash-${kind}-${seed}`;
    const target = await backend.open(dir);
    try {
      const config = { ...target.worker, runId, input: INPUT, journal: journalPath, leaseTtlMs: LEASE_TTL_MS };
      const killed = new Set<number>();
      const workers: WorkerProcess[] = [];
      let finisher: WorkerProcess | undefined;

      for (const delay of [...delays, undefined]) {
        const worker = spawnWorker(config, CRASH_WORKER);
        workers.push(worker);
        if (delay === undefined) {
          await worker.finished();
          finisher = worker;
          break;
        }
        // The delay counts from the worker's last start: `ready`, or its last RUN_LOCKED retry (the dead worker's
        // lease still held the run), so it measures time spent on the run itself.
        let seen = 0;
        let since = 0;
        await until(
          `worker ${worker.pid} to finish or reach its kill point (${delay} ms)`,
          () => {
            if (worker.exit !== undefined) return true;
            const starts = worker.events.filter((e) => e.event === 'ready' || e.event === 'locked').length;
            if (starts !== seen) {
              seen = starts;
              since = Date.now();
            }
            if (seen > 0 && Date.now() - since >= delay) {
              worker.signal('SIGKILL');
              return true;
            }
            return undefined;
          },
          [worker],
        );
        const exit = await worker.exited;
        if (exit.signal === 'SIGKILL') {
          killed.add(worker.pid);
          continue;
        }
        await worker.finished();
        finisher = worker;
        break;
      }

      // A worker that finished: success with the right output.
      const results = finisher!.of('result');
      expect(results).toHaveLength(1);
      const expected = expectedValues(INPUT);
      expect(results[0]).toMatchObject({ status: 'success', runId, output: { v: expected.f } });
      const lockedRetries = workers.reduce((n, w) => n + w.of('locked').length, 0);
      console.log(`crash test ${kind}: ${killed.size} workers killed, ${lockedRetries} RUN_LOCKED retries, finished by worker #${workers.length}`);

      // Resuming the completed run executes nothing and returns the same output.
      const again = spawnWorker(config, CRASH_WORKER);
      const [replayed] = (await again.finished()).filter((e) => e.event === 'result');
      expect(replayed).toMatchObject({ status: 'success', output: results[0]!.output, executed: [] });

      // ---- the checkpoint chain (invariants 6/7, and seq) ------------------------------------------------
      const store = target.openStore();
      const headId = await store.getHead(runId);
      expect(headId).toBe(results[0]!.checkpointId);
      const listed = await store.listByRun(runId);
      const chain = (await store.getChain(headId!)).reverse(); // root first
      expect(chain[0]!.parentCheckpointId).toBeNull();
      expect(chain.map((c) => c.id).sort()).toEqual(listed.map((c) => c.id).sort());
      for (let i = 1; i < chain.length; i++) {
        expect(chain[i]!.parentCheckpointId).toBe(chain[i - 1]!.id);
        expect(chain[i]!.seq).toBeGreaterThan(chain[i - 1]!.seq);
      }
      const loaded: FlowCheckpoint[] = [];
      for (const summary of chain) loaded.push(await store.load(summary.id)); // throws CorruptCheckpointError if torn
      expect(loaded.at(-1)!.status).toBe('completed');
      for (const checkpoint of loaded) expect(checkpoint.runId).toBe(runId);

      // ---- the journal against the chain (invariants 2 and 3) --------------------------------------------
      const journal = readJournal(journalPath);
      expect(journal.every((e) => e.runId === runId)).toBe(true);
      const committed = new Map<string, { tok: string; attempt: number; seq: number }>();
      for (const node of NODE_IDS) {
        const lines = journal.filter((e) => e.node === node);
        const executions = lines.filter((e) => e.phase === 'end');
        // Stable idempotency key across every attempt, in every process, finished or killed.
        expect(new Set(lines.map((e) => e.key))).toEqual(new Set([`${runId}:${node}`]));

        // The first checkpoint that records the node as a success, and the execution that produced it.
        const firstIndex = loaded.findIndex((c) => c.nodeStates[node]?.status === 'success');
        expect(firstIndex).toBeGreaterThanOrEqual(0);
        const state = loaded[firstIndex]!.nodeStates[node]!;
        const recorded = state.output as { v: number; tok: string };
        expect(recorded.v).toBe(expected[node as keyof typeof expected]);
        // Once committed, the recorded output never changes in later checkpoints.
        for (const later of loaded.slice(firstIndex)) {
          expect({ node, seq: later.seq, state: later.nodeStates[node]?.status, tok: (later.nodeStates[node]?.output as { tok?: string })?.tok }).toEqual({
            node,
            seq: later.seq,
            state: 'success',
            tok: recorded.tok,
          });
        }
        const producer = executions.find((e) => e.tok === recorded.tok);
        expect(lines.find((e) => e.phase === 'start' && e.tok === recorded.tok)).toBeDefined();
        expect(producer).toBeDefined();
        expect(state.attempt).toBe(producer!.attempt);
        // Invariant 2: the committing execution is the node's last one: never started again after its checkpoint.
        expect({ node, after: lines.filter((e) => e.line > producer!.line).map((e) => `${e.phase} ${e.tok}`) }).toEqual({ node, after: [] });
        // Invariant 3: every other execution (finished or not) was in a worker killed before its completion was committed.
        for (const lost of lines.filter((e) => e.tok !== producer!.tok)) {
          expect({ node, tok: lost.tok, killed: killed.has(lost.pid) }).toEqual({ node, tok: lost.tok, killed: true });
        }
        committed.set(node, { tok: recorded.tok, attempt: state.attempt, seq: loaded[firstIndex]!.seq });
      }
      // Dependents got the recorded outputs: the committing execution of each node saw its dependencies' committed tokens,
      // and each dependency was committed in a checkpoint no later than its dependent (durability 'sync').
      for (const node of NODE_IDS) {
        const producer = journal.find((e) => e.phase === 'end' && e.tok === committed.get(node)!.tok)!;
        expect({ node, inputs: producer.inputs }).toEqual({ node, inputs: DEPENDS_ON[node]!.map((dep) => committed.get(dep)!.tok) });
        for (const dep of DEPENDS_ON[node]!) expect(committed.get(dep)!.seq).toBeLessThanOrEqual(committed.get(node)!.seq);
      }
      // The final output is f's committed execution.
      expect(results[0]!.output).toEqual({ v: expected.f, tok: committed.get('f')!.tok });
      console.log(
        `crash test ${kind}: executions started/finished per node: ${NODE_IDS.map((n) => `${n} ${journal.filter((e) => e.node === n && e.phase === 'start').length}/${journal.filter((e) => e.node === n && e.phase === 'end').length}`).join(', ')}; ${chain.length} checkpoints`,
      );
    } finally {
      await killAllWorkers();
      await target.close();
    }
  });
});
