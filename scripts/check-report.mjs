// How the script checks (tests/consumer, tests/release) report: one line per check, the output of each failure,
// and their totals in .test-results for `pnpm test`'s summary. Returns the totals; sets a failing exit code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

/** `results`: `{ name, ok, output }` each; `summaryName`: the file under .test-results, e.g. `tests__release`. */
export function reportChecks(results, summaryName) {
  const failed = results.filter((result) => !result.ok);
  for (const result of results) console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}`);
  for (const result of failed) console.log(`\n--- ${result.name}\n${result.output}`);
  const totals = { passed: results.length - failed.length, failed: failed.length, skipped: 0 };
  mkdirSync(join(root, '.test-results'), { recursive: true });
  writeFileSync(join(root, '.test-results', `${summaryName}.json`), JSON.stringify(totals) + '\n');
  process.exitCode = failed.length === 0 && results.length > 0 ? 0 : 1;
  return totals;
}
