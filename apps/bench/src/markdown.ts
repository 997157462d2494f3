// The run's tables as Markdown (results/latest.md), for BENCHMARKS.md and the README to quote.
import { chartInputs, type ChartInput } from './charts.js';
import type { ConcurrentResult } from './concurrent-runs.js';
import { succeeded, type EngineResults } from './engine.js';
import type { ThroughputResult } from './engine-throughput.js';
import type { CaseResult, LangGraphResult } from './main.js';
import { LARGE_REPS, LARGE_SCENARIOS, scenarioName, type LargeResult } from './large.js';
import { format, type Targets } from './targets.js';
import { SMALL_SAVES } from './workloads.js';

const ms = (x: number) => format(x, 'ms');
const kib = (bytes: number | null) => (bytes === null ? '-' : format(bytes / 1024, 'KiB'));

type Row = { name: string; result: CaseResult | LangGraphResult };

function smallTable(rows: Row[]): string[] {
  const lines = [
    '| Backend | save p50 | save p99 | load p50 | load p99 | floor p50 | save/floor | agent written | on disk | 200th/1st |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { name, result } of rows) {
    const { small, agent } = result;
    const floor = 'floor' in result && result.floor ? result.floor : null;
    lines.push(
      `| ${name} | ${ms(small.save.p50)} | ${ms(small.save.p99)} | ${ms(small.load.p50)} | ${ms(small.load.p99)} | ` +
        `${floor ? ms(floor.p50) : '-'} | ${floor ? format(small.save.p50 / floor.p50, 'x') : '-'} | ` +
        `${kib(agent.totalBytes)} | ${kib(agent.fileBytes)} | ${format(agent.lastOverFirst, 'x')} |`,
    );
  }
  return lines;
}

function largeTable(rows: Array<{ name: string; large: LargeResult[] }>): string[] {
  const lines = [
    `| Backend | ${LARGE_SCENARIOS.map((s) => `${scenarioName(s)} save / load`).join(' | ')} |`,
    `|---|${LARGE_SCENARIOS.map(() => '---').join('|')}|`,
  ];
  for (const { name, large } of rows) {
    lines.push(`| ${name} | ${large.map((r) => `${ms(r.saveMs)} / ${ms(r.loadMs)}`).join(' | ')} |`);
  }
  return lines;
}

/** The figures of save-vs-size.svg: small save p50, then the median saves of the `messages` large states. */
function saveVsSizeTable(inputs: ChartInput[]): string[] {
  const sizes = LARGE_SCENARIOS.filter((s) => s.shape === 'messages');
  const small = inputs.find((i) => i.small)?.small;
  const lines = [
    `| Backend | small (${small?.stateBytes ?? '-'} B) save p50 | ${sizes.map((s) => `${scenarioName(s)} save`).join(' | ')} |`,
    `|---|---|${sizes.map(() => '---').join('|')}|`,
  ];
  for (const { name, small: mine, large } of inputs) {
    const cells = sizes.map((s) => large?.find((l) => l.shape === s.shape && l.megabytes === s.megabytes));
    lines.push(`| ${name} | ${mine ? ms(mine.save.p50) : '-'} | ${cells.map((l) => (l ? ms(l.saveMs) : '-')).join(' | ')} |`);
  }
  return lines;
}

function engineTables(engine: EngineResults): string[] {
  const lines: string[] = [];
  const parallel = Object.entries(engine.parallel).filter((e): e is [string, ThroughputResult] => succeeded(e[1]));
  if (parallel.length > 0) {
    const { shape, reps } = parallel[0]![1];
    lines.push(`Engine (a): flow of ${shape}, concurrency 8, checkpoint after every node; median of ${reps} runs:`, '');
    lines.push('| Backend | run time | checkpoints per run | checkpoints/s |', '|---|---|---|---|');
    for (const [name, r] of parallel) lines.push(`| ${name} | ${ms(r.runMs)} | ${r.checkpoints} | ${r.checkpointsPerSecond.toFixed(0)} |`);
    lines.push('');
  }
  if (succeeded(engine.overhead)) {
    const r = engine.overhead;
    lines.push(
      `Engine (b): the same flow with checkpointing off vs a plain loop over the same node functions; each node does ` +
        `${r.workUnit} (${ms(r.workPerNodeMs)} here); median of ${r.pairs} interleaved pairs:`,
      '',
    );
    lines.push('| engine run | plain loop | overhead |', '|---|---|---|');
    lines.push(`| ${ms(r.engineMs)} | ${ms(r.plainMs)} | ${format(r.overheadPercent, '%')} |`, '');
  }
  const concurrent = Object.entries(engine.concurrent).filter((e): e is [string, ConcurrentResult] => succeeded(e[1]));
  if (concurrent.length > 0) {
    const { runs, shape, reps } = concurrent[0]![1];
    lines.push(
      `Engine (c): ${runs} runs started at once, each a flow of ${shape}; commit latency timed around the adapter; median of ${reps} batches. ` +
        'Rows without calls are saturated (nodes return at once: commits queue, the row shows capacity); rows with calls have each node await a timer standing in for its LLM or tool call (the p99 target applies to those):',
      '',
    );
    lines.push('| Backend | batch time | checkpoints | checkpoints/s | commit p50 | commit p99 |', '|---|---|---|---|---|---|');
    for (const [name, r] of concurrent) {
      const perSecond = r.checkpointsPerSecond.toFixed(0);
      lines.push(`| ${name} | ${ms(r.batchMs)} | ${r.checkpoints} | ${perSecond} | ${ms(r.commitP50Ms)} | ${ms(r.commitP99Ms)} |`);
    }
    lines.push('');
  }
  if (succeeded(engine.resume)) {
    const { flow, agent } = engine.resume;
    lines.push(`Engine (d): resume on SQLite, from \`resume()\` until the next step's code runs; median of ${flow.reps}:`, '');
    lines.push('| Run | checkpoints before | resume |', '|---|---|---|');
    for (const r of [flow, agent]) lines.push(`| ${r.what} | ${r.checkpoints} | ${ms(r.resumeMs)} |`);
    lines.push('');
  }
  return lines;
}

function targetTable(targets: Targets): string[] {
  const lines = ['| Figure | Value | Target | |', '|---|---|---|---|'];
  for (const c of targets.checks) lines.push(`| ${c.figure} | ${format(c.value, c.unit)} | ${c.target} | ${c.met ? 'met' : '**missed**'} |`);
  lines.push('', targets.summary());
  return lines;
}

export function markdown(results: Record<string, unknown>, targets: Targets, header: string): string {
  const present = (name: string) => {
    const r = results[name];
    return typeof r === 'object' && r !== null && 'small' in r ? (r as CaseResult | LangGraphResult) : null;
  };
  const names = ['memory', 'file', 'sqlite', 'postgres', 'redis', 'langgraph-sqlite'];
  const rows = names.flatMap((name) => (present(name) ? [{ name, result: present(name)! }] : []));
  const large = rows.map(({ name, result }) => ({ name, large: result.large }));
  const postgres = present('postgres') as CaseResult | null;
  if (postgres && Array.isArray(postgres.langGraphLarge)) large.push({ name: 'langgraph-postgres', large: postgres.langGraphLarge });
  return [
    header,
    '',
    `Small saves (${SMALL_SAVES} per backend) and the 200-loop agent history:`,
    '',
    ...smallTable(rows),
    '',
    `Large states, median of ${LARGE_REPS} repetitions:`,
    '',
    ...largeTable(large),
    '',
    'Save latency vs state size (the figures of `save-vs-size.svg`):',
    '',
    ...saveVsSizeTable(chartInputs(results)),
    '',
    ...(results.engine ? engineTables(results.engine as EngineResults) : []),
    'Targets:',
    '',
    ...targetTable(targets),
    '',
  ].join('\n');
}
