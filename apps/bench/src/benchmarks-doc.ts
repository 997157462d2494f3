// Keeps the repository's BENCHMARKS.md in step with the run: the part between its two markers is replaced by
// this run's tables (results/latest.md), so the published figures always come from a real run of `pnpm bench`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const RESULTS_START = '<!-- bench:results:start (written by pnpm bench) -->';
export const RESULTS_END = '<!-- bench:results:end -->';

/** Replaces the results between the markers; returns false (and changes nothing) when the file or a marker is missing. */
export function updateBenchmarksDoc(path: string, tables: string): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(RESULTS_START);
  const end = text.indexOf(RESULTS_END);
  if (start < 0 || end < start) return false;
  writeFileSync(path, `${text.slice(0, start + RESULTS_START.length)}\n\n${tables.trim()}\n\n${text.slice(end)}`);
  return true;
}
