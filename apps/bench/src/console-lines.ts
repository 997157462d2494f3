// The lines `pnpm bench` prints as each measurement finishes (the tables go to results/latest.md).
import type { ConcurrentResult } from './concurrent-runs.js';
import type { OverheadResult } from './engine-overhead.js';
import type { ThroughputResult } from './engine-throughput.js';
import { scenarioName, type LargeResult } from './large.js';
import type { ResumeResult } from './resume.js';
import type { Summary } from './stats.js';
import { AGENT_LOOPS, type AgentResult, type SmallResult } from './workloads.js';

const ms = (x: number) => `${x.toFixed(3)} ms`;
const ms1 = (x: number) => `${x.toFixed(1)} ms`;
const kib = (x: number | null) => (x === null ? '-' : `${(x / 1024).toFixed(0)} KiB`);
export const ratio = (x: number) => `${x.toFixed(2)}x`;

export function printRow(name: string, r: { small: SmallResult; agent: AgentResult; floor?: Summary | null }): void {
  const { small, agent } = r;
  const floor = r.floor ? ` | floor p50 ${ms(r.floor.p50)} (save/floor ${ratio(small.save.p50 / r.floor.p50)})` : '';
  console.log(
    `${name.padEnd(16)} save p50 ${ms(small.save.p50)} p99 ${ms(small.save.p99)} | load p50 ${ms(small.load.p50)} p99 ${ms(small.load.p99)}${floor}` +
      ` | agent ${AGENT_LOOPS} loops: ${kib(agent.totalBytes)} written, ${kib(agent.fileBytes)} on disk, 200th/1st save ${ratio(agent.lastOverFirst)}`,
  );
}

export function printLarge(name: string, large: LargeResult[] | { error: string } | undefined): void {
  if (!large) return;
  if ('error' in large) {
    console.log(`${name.padEnd(18)} large states could not run: ${large.error.split('\n')[0]}`);
    return;
  }
  const cells = large.map((r) => `${scenarioName(r)} ${ms1(r.saveMs)} / ${ms1(r.loadMs)}`);
  console.log(`${name.padEnd(18)} large save / load (median): ${cells.join(' | ')}`);
}

export function printSmall(name: string, small: SmallResult | { error: string } | undefined): void {
  if (!small) return;
  if ('error' in small) console.log(`${name.padEnd(18)} small saves could not run: ${small.error.split('\n')[0]}`);
  else console.log(`${name.padEnd(18)} small save p50 ${ms(small.save.p50)} p99 ${ms(small.save.p99)} | load p50 ${ms(small.load.p50)}`);
}

export function throughputLine(name: string, r: ThroughputResult): string {
  return (
    `engine ${name.padEnd(8)} ${r.nodes}-node flow, 8-wide (median of ${r.reps}): run ${ms1(r.runMs)}, ` +
    `${r.checkpoints} checkpoints, ${r.checkpointsPerSecond.toFixed(0)} checkpoints/s`
  );
}

export function overheadLine(r: OverheadResult): string {
  return (
    `engine overhead, checkpointing off (median of ${r.pairs} interleaved pairs): ${r.overheadPercent.toFixed(1)}% ` +
    `(engine ${ms1(r.engineMs)}, plain loop ${ms1(r.plainMs)}; each node: ${r.workUnit}, ${ms(r.workPerNodeMs)} here)`
  );
}

export function concurrentLine(name: string, r: ConcurrentResult): string {
  return (
    `engine ${name} ${r.runs} concurrent runs (median of ${r.reps} batches): ${r.checkpoints} checkpoints in ${ms1(r.batchMs)}, ` +
    `${r.checkpointsPerSecond.toFixed(0)} checkpoints/s, commit p50 ${ms(r.commitP50Ms)} p99 ${ms(r.commitP99Ms)}`
  );
}

export function resumeLine(r: ResumeResult): string {
  return `engine resume on sqlite (median of ${r.reps}): ${r.what}, ${r.checkpoints} checkpoints: ${ms(r.resumeMs)} to the next step`;
}
