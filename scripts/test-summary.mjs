// `--reset` clears the recorded totals before a run; without it, prints one line per package and the total.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '.test-results');
if (process.argv.includes('--reset')) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.exit(0);
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const file of readdirSync(dir).sort()) {
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  console.log(`  ${file.replace(/\.json$/, '').replace(/__/g, '/').padEnd(32)} ${result.passed} passed, ${result.failed} failed`);
  for (const key of Object.keys(total)) total[key] += result[key];
}
if (total.passed === 0) {
  console.error('no test ran');
  process.exit(1);
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(total.failed > 0 ? 1 : 0);
