// Engine scenario (b): what the engine adds to a run when checkpointing is off, against a plain loop calling the
// same node functions in the same dependency order with the same awaits. Both sides run the 50-node, 8-wide
// flow of scenario (a), each node doing one work unit (work-unit.ts); they alternate, and the figure is the
// median of the per-pair ratios, so load that drifts during the run hits both sides alike.
import { Workflow } from '@savepoint/core';
import { expectStatus } from './engine-runs.js';
import { PARALLEL_SHAPE } from './engine-throughput.js';
import { layeredFlow, nodeCount, nodeFunctions, plainLoop, shapeLayers } from './layered-flow.js';
import { elapsedMs, median } from './stats.js';
import { WORK_UNIT, workUnit } from './work-unit.js';

export const OVERHEAD_PAIRS = Number(process.env.BENCH_OVERHEAD_PAIRS ?? 100);
const WARM_UP_PAIRS = 5;

export interface OverheadResult {
  workUnit: string;
  /** What one node's work cost in this run: the plain loop's median time over the node count. */
  workPerNodeMs: number;
  pairs: number;
  engineMs: number;
  plainMs: number;
  /** Median over pairs of (engine / plain - 1), in percent. */
  overheadPercent: number;
}

export async function engineOverhead(): Promise<OverheadResult> {
  const fns = nodeFunctions(PARALLEL_SHAPE, (id) => () => workUnit(id));
  const workflow = new Workflow({ flow: layeredFlow('overhead', PARALLEL_SHAPE, fns) });
  const layers = shapeLayers(PARALLEL_SHAPE);
  const engine = () =>
    elapsedMs(async () => {
      expectStatus(await workflow.run({ input: 1 }), 'success');
    });
  const plain = () => elapsedMs(() => plainLoop(layers, fns, { input: 1 }));

  const pairs: Array<{ engine: number; plain: number }> = [];
  for (let i = 0; i < WARM_UP_PAIRS + OVERHEAD_PAIRS; i++) {
    // Alternating which side goes first cancels any advantage of running second (warm caches, a GC just done).
    const pair = { engine: 0, plain: 0 };
    if (i % 2 === 0) {
      pair.engine = await engine();
      pair.plain = await plain();
    } else {
      pair.plain = await plain();
      pair.engine = await engine();
    }
    if (i >= WARM_UP_PAIRS) pairs.push(pair);
  }
  const plainMs = median(pairs.map((p) => p.plain));
  return {
    workUnit: WORK_UNIT,
    workPerNodeMs: plainMs / nodeCount(PARALLEL_SHAPE),
    pairs: pairs.length,
    engineMs: median(pairs.map((p) => p.engine)),
    plainMs,
    overheadPercent: median(pairs.map((p) => (p.engine / p.plain - 1) * 100)),
  };
}
