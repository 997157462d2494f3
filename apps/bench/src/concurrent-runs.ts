// Engine scenario (c): 100 runs of a small flow started at once on one server backend, checkpointing on. Each
// checkpoint commit is timed by a wrapper around the real adapter (timed-adapter.ts); throughput counts those
// commits over the wall time of the whole batch. Two variants: nodes that return at once (the process is saturated:
// commits queue behind each other, so latency is queueing and the batch shows capacity), and nodes that first await
// a timer standing in for the LLM or tool call an agent step makes (0.5-5 s in practice): uniformly 0.5x-1.5x
// CALL_MS, from a seeded generator so every run of the bench waits the same, and not all at once (100 identical
// timers would fire together and measure a thundering herd instead). The p99 target is about that variant.
import type { NodeContext, StorageAdapter } from '@savepoint/core';
import { checkpointingWorkflow, ENGINE_REPS, expectStatus } from './engine-runs.js';
import { describeShape, layeredFlow, nodeFunctions, type LayeredShape } from './layered-flow.js';
import { median, summarize } from './stats.js';
import { timedCommits } from './timed-adapter.js';

export const CONCURRENT_RUNS = 100;
export const CONCURRENT_SHAPE: LayeredShape = { layers: 1, width: 3, source: true, sink: true };
/** Mean of the stand-in for a node's LLM or tool call, in the variant the p99 target applies to. */
export const CALL_MS = 500;
const CONCURRENT_REPS = Number(process.env.BENCH_CONCURRENT_REPS ?? Math.min(5, ENGINE_REPS));

export interface ConcurrentResult {
  runs: number;
  /** What each node awaits before returning (0: nothing, the saturated variant). */
  callMs: number;
  shape: string;
  reps: number;
  /** Medians over the repetitions (each a new batch of runs). */
  batchMs: number;
  checkpoints: number;
  checkpointsPerSecond: number;
  commitP50Ms: number;
  commitP99Ms: number;
}

export async function concurrentRuns(backend: StorageAdapter, callMs: number): Promise<ConcurrentResult> {
  const latencies: number[] = [];
  const random = seededRandom(10);
  const fns = nodeFunctions(CONCURRENT_SHAPE, (id) => async (_input: unknown, ctx?: NodeContext) => {
    if (callMs > 0) await new Promise((resolve) => setTimeout(resolve, callMs * (0.5 + random())));
    return { node: id, run: ctx!.runId };
  });
  const workflow = checkpointingWorkflow(layeredFlow('concurrent', CONCURRENT_SHAPE, fns), timedCommits(backend, (ms) => latencies.push(ms)));
  const batches: Array<{ ms: number; checkpoints: number; p50: number; p99: number }> = [];
  // Batch 0 warms up (setup, the pool's connections, scripts loaded) and is not counted.
  for (let rep = 0; rep <= CONCURRENT_REPS; rep++) {
    latencies.length = 0;
    const t = performance.now();
    const results = await Promise.all(Array.from({ length: CONCURRENT_RUNS }, (_, i) => workflow.run({ rep, i })));
    const ms = performance.now() - t;
    for (const result of results) expectStatus(result, 'success');
    const commits = summarize(latencies);
    if (rep > 0) batches.push({ ms, checkpoints: commits.n, p50: commits.p50, p99: commits.p99 });
  }
  return {
    runs: CONCURRENT_RUNS,
    callMs,
    shape: describeShape(CONCURRENT_SHAPE),
    reps: batches.length,
    batchMs: median(batches.map((b) => b.ms)),
    checkpoints: median(batches.map((b) => b.checkpoints)),
    checkpointsPerSecond: median(batches.map((b) => (b.checkpoints * 1000) / b.ms)),
    commitP50Ms: median(batches.map((b) => b.p50)),
    commitP99Ms: median(batches.map((b) => b.p99)),
  };
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
