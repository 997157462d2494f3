// Engine scenario (a): a 50-node flow with 8-way parallelism, checkpointed after every node. Nodes return a
// small output at once, so the figures are what the engine and the checkpoint path cost, not node work.
import type { NodeContext, StorageAdapter } from '@savepoint/core';
import { checkpointCounter, checkpointingWorkflow, ENGINE_REPS, expectStatus } from './engine-runs.js';
import { describeShape, layeredFlow, nodeCount, nodeFunctions, type LayeredShape } from './layered-flow.js';
import { median } from './stats.js';

export const PARALLEL_SHAPE: LayeredShape = { layers: 6, width: 8, source: true, sink: true };

export interface ThroughputResult {
  shape: string;
  nodes: number;
  reps: number;
  /** Medians over the repetitions (each a new run of the same Workflow). */
  runMs: number;
  checkpoints: number;
  checkpointsPerSecond: number;
}

export async function parallelFlowThroughput(backend: StorageAdapter): Promise<ThroughputResult> {
  const fns = nodeFunctions(PARALLEL_SHAPE, (id) => (_input: unknown, ctx?: NodeContext) => ({ node: id, run: ctx!.runId }));
  const workflow = checkpointingWorkflow(layeredFlow('parallel', PARALLEL_SHAPE, fns), backend);
  const checkpointsOf = checkpointCounter(workflow);
  const runs: Array<{ ms: number; checkpoints: number }> = [];
  // Repetition 0 warms up (setup, prepared statements, JIT) and is not counted.
  for (let rep = 0; rep <= ENGINE_REPS; rep++) {
    const t = performance.now();
    const result = await workflow.run({ rep });
    const ms = performance.now() - t;
    expectStatus(result, 'success');
    if (rep > 0) runs.push({ ms, checkpoints: checkpointsOf(result.runId) });
  }
  return {
    shape: describeShape(PARALLEL_SHAPE),
    nodes: nodeCount(PARALLEL_SHAPE),
    reps: runs.length,
    runMs: median(runs.map((r) => r.ms)),
    checkpoints: median(runs.map((r) => r.checkpoints)),
    checkpointsPerSecond: median(runs.map((r) => (r.checkpoints * 1000) / r.ms)),
  };
}
