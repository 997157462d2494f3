// The run's tables as Markdown (results/latest.md), for BENCHMARKS.md and the README to quote.
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
    'Targets:',
    '',
    ...targetTable(targets),
    '',
  ].join('\n');
}
