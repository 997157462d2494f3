// The two charts `pnpm bench` writes next to latest.json (results/*.svg), from the same run's figures.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, LangGraphResult } from './main.js';
import type { LargeResult } from './large.js';
import { median } from './stats.js';
import { chartSvg, type Series } from './svg-chart.js';
import type { AgentResult, SmallResult } from './workloads.js';

const COLORS: Record<string, string> = {
  memory: '#7f7f7f',
  file: '#8c564b',
  sqlite: '#1f77b4',
  postgres: '#9467bd',
  redis: '#d62728',
  'langgraph-sqlite': '#ff7f0e',
  'langgraph-postgres': '#2ca02c',
};
const SAVEPOINT = ['memory', 'file', 'sqlite', 'postgres', 'redis'];
const LATENCY_WINDOW = 9;

/** What the charts read: per backend (Savepoint's and LangGraph's), its agent history, small saves and large states. */
export interface ChartInput {
  name: string;
  agent?: AgentResult;
  small?: SmallResult;
  large?: LargeResult[];
}

export function chartInputs(results: Record<string, unknown>): ChartInput[] {
  const inputs: ChartInput[] = [];
  for (const name of SAVEPOINT) {
    const r = results[name] as CaseResult | undefined;
    if (r) inputs.push({ name, agent: r.agent, small: r.small, large: r.large });
  }
  const lg = results['langgraph-sqlite'] as LangGraphResult | { error: string } | undefined;
  if (lg && !('error' in lg)) inputs.push({ name: 'langgraph-sqlite', agent: lg.agent, small: lg.small, large: lg.large });
  const pg = results.postgres as CaseResult | undefined;
  if (pg?.langGraphLarge && !('error' in pg.langGraphLarge)) {
    const small = pg.langGraphSmall && !('error' in pg.langGraphSmall) ? pg.langGraphSmall : undefined;
    inputs.push({ name: 'langgraph-postgres', large: pg.langGraphLarge, ...(small ? { small } : {}) });
  }
  return inputs;
}

const isLangGraph = (name: string) => name.startsWith('langgraph');
const label = (name: string) => (isLangGraph(name) ? name.replace('langgraph-', 'LangGraph ') : `Savepoint ${name}`);

function series(name: string, points: Array<[number, number]>, markers = false): Series {
  return { name: label(name), points, color: COLORS[name] ?? '#000000', dashed: isLangGraph(name), markers };
}

/**
 * Cumulative bytes per step, one series per group of backends that wrote exactly the same bytes at every step
 * (every Savepoint backend encodes alike, so their lines would hide each other).
 */
function cumulativeBytes(inputs: ChartInput[]): Series[] {
  const groups = new Map<string, { names: string[]; points: Array<[number, number]> }>();
  for (const { name, agent } of inputs) {
    if (!agent) continue;
    let total = 0;
    const points = agent.steps.bytes.map((bytes, i): [number, number] => [i + 1, (total += bytes)]);
    const key = `${isLangGraph(name)}:${points.map((p) => p[1]).join(',')}`;
    const group = groups.get(key) ?? { names: [], points };
    group.names.push(name);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ names, points }) => {
    if (names.length === 1) return series(names[0]!, points);
    const name = SAVEPOINT.every((n) => names.includes(n)) ? 'Savepoint, every backend' : `Savepoint ${names.join(', ')}`;
    return { ...series(names.includes('sqlite') ? 'sqlite' : names[0]!, points), name };
  });
}

/** Each value replaced by the median of the `window` values around it, so a load spike on the shared machine does not hide the trend. */
function rollingMedian(values: readonly number[], window: number): number[] {
  const half = Math.floor(window / 2);
  return values.map((_, i) => median(values.slice(Math.max(0, i - half), i + half + 1)));
}

function agentHistorySvg(inputs: ChartInput[]): string {
  const withAgent = inputs.filter((i) => i.agent);
  return chartSvg('200 agent steps, each appending a 2 KB message and checkpointing the whole history', [
    {
      title: 'Bytes stored, cumulative',
      x: { label: 'agent step', format: String },
      y: { label: 'bytes handed to storage', log: true, format: formatBytes },
      series: cumulativeBytes(withAgent),
    },
    {
      title: `Save latency of each step (median of the ${LATENCY_WINDOW} steps around it; every step's own in latest.json)`,
      x: { label: 'agent step', format: String },
      y: { label: 'save latency', log: true, format: formatMs },
      series: withAgent.map(({ name, agent }) => {
        const smoothed = rollingMedian(agent!.steps.ms, LATENCY_WINDOW);
        return series(name, smoothed.map((ms, i): [number, number] => [i + 1, ms]));
      }),
    },
  ]);
}

function saveVsSizeSvg(inputs: ChartInput[]): string {
  const lines = inputs.flatMap(({ name, small, large }) => {
    const points: Array<[number, number]> = small ? [[small.stateBytes, small.save.p50]] : [];
    for (const l of (large ?? []).filter((r) => r.shape === 'messages')) points.push([l.bytes, l.saveMs]);
    return points.length > 1 ? [series(name, points, true)] : [];
  });
  return chartSvg('Save latency vs state size (small value, 1 MB and 5 MB of ~210-byte messages)', [
    {
      title: 'Save p50 (small) and median save (large states); LangGraph savers dashed',
      x: { label: 'state size (JSON bytes)', log: true, format: formatBytes },
      y: { label: 'save latency', log: true, format: formatMs },
      series: lines,
    },
  ]);
}

/** Writes agent-history.svg and save-vs-size.svg into `dir`; returns their names. */
export function writeCharts(dir: string, results: Record<string, unknown>): string[] {
  const inputs = chartInputs(results);
  const charts: Array<[string, string]> = [
    ['agent-history.svg', agentHistorySvg(inputs)],
    ['save-vs-size.svg', saveVsSizeSvg(inputs)],
  ];
  for (const [file, svg] of charts) writeFileSync(join(dir, file), svg);
  return charts.map(([file]) => file);
}

/** Tick labels for powers of ten: 100 B, 1 kB, 10 MB (decimal units, as the ticks are decimal). */
function formatBytes(value: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [size, unit] of units) if (value >= size) return `${trim(value / size)} ${unit}`;
  return `${trim(value)} B`;
}

function formatMs(value: number): string {
  if (value >= 1000) return `${trim(value / 1000)} s`;
  if (value < 0.1) return `${trim(value * 1000)} µs`;
  return `${trim(value)} ms`;
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}
