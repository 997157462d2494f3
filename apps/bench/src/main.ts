// Measures what DESIGN §9 targets, prints a table and writes results/latest.json:
// - small save / load latency per backend, next to that backend's storage floor on this machine;
// - 200 agent loops appending 2 KB each: total bytes written and the cost of the 200th save vs the first.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { checkpoint, message, nodeState } from './fixtures.js';
import { fileFloor, sqliteFloor } from './floors.js';
import { summarize, type Summary } from './stats.js';

const SMALL_SAVES = Number(process.env.BENCH_SAVES ?? 300);
const AGENT_LOOPS = 200;

interface BackendCase {
  name: string;
  create(dir: string): StorageAdapter;
  floor?(dir: string, samples: number): Summary;
}

const cases: BackendCase[] = [
  { name: 'memory', create: () => new MemoryAdapter() },
  { name: 'file', create: (dir) => new FileBackend({ dir: join(dir, 'file') }), floor: fileFloor },
  { name: 'sqlite', create: (dir) => new SqliteBackend({ path: join(dir, 'bench.db') }), floor: sqliteFloor },
];

async function smallSaves(store: CheckpointStore, runId: string) {
  const saves: number[] = [];
  const loads: number[] = [];
  let parent: string | null = null;
  for (let seq = 1; seq <= SMALL_SAVES; seq++) {
    const cp = checkpoint(runId, seq, parent, { fetch: nodeState('fetch', { seq, docs: ['a', 'b'] }) });
    let t = performance.now();
    await store.save(cp, { expectedHead: parent });
    saves.push(performance.now() - t);
    t = performance.now();
    await store.load(cp.id);
    loads.push(performance.now() - t);
    parent = cp.id;
  }
  return { save: summarize(saves), load: summarize(loads) };
}

async function agentHistory(store: CheckpointStore, runId: string) {
  const messages: Array<Readonly<{ role: string; content: string }>> = [];
  const times: number[] = [];
  let bytes = 0;
  let parent: string | null = null;
  for (let loop = 1; loop <= AGENT_LOOPS; loop++) {
    messages.push(message(loop));
    const state = nodeState('agent', undefined, { loop, messages: [...messages] });
    const cp = checkpoint(runId, loop, parent, { agent: { ...state, status: 'running' } });
    const t = performance.now();
    const result = await store.save(cp, { expectedHead: parent });
    times.push(performance.now() - t);
    bytes += result.bytesWritten;
    parent = cp.id;
  }
  const first = summarize(times.slice(0, 10)).p50;
  const last = summarize(times.slice(-10)).p50;
  return { loops: AGENT_LOOPS, totalBytes: bytes, firstSaveMs: first, lastSaveMs: last, lastOverFirst: last / first };
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'savepoint-bench-'));
  const results: Record<string, unknown> = {};
  try {
    for (const c of cases) {
      const dir = join(root, c.name);
      mkdirSync(dir, { recursive: true });
      const adapter = c.create(dir);
      const store = new CheckpointStore(adapter);
      await store.setup();
      const small = await smallSaves(store, 'small-run');
      const agent = await agentHistory(store, 'agent-run');
      const floor = c.floor?.(dir, SMALL_SAVES);
      await adapter.close?.();
      results[c.name] = { small, floor, saveOverFloor: floor ? small.save.p50 / floor.p50 : null, agent };
      console.log(
        `${c.name.padEnd(7)} save p50 ${small.save.p50.toFixed(3)} ms p99 ${small.save.p99.toFixed(3)} ms | load p50 ${small.load.p50.toFixed(3)} ms p99 ${small.load.p99.toFixed(3)} ms` +
          (floor ? ` | floor p50 ${floor.p50.toFixed(3)} ms (save/floor ${(small.save.p50 / floor.p50).toFixed(2)}x)` : '') +
          ` | agent ${AGENT_LOOPS} loops: ${(agent.totalBytes / 1024).toFixed(0)} KiB written, 200th/1st save ${agent.lastOverFirst.toFixed(2)}x`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const out = join(__dirname, '..', 'results', 'latest.json');
  mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, saves: SMALL_SAVES, results }, null, 2) + '\n');
  console.log(`results written to ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
