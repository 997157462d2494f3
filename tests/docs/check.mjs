// The documentation check behind `pnpm test`:
//   - the API reference builds with the root typedoc.json, and any TypeDoc warning (a broken {@link}, a missing
//     entry point) fails it; a fixture package with a broken link proves that the configuration does fail;
//   - every relative link of the root README, the guides in docs/ and the examples' READMEs reaches a file, and
//     its #fragment a heading; fixtures prove the link checker finds what it must and nothing else.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brokenLinks } from './links.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const exec = promisify(execFile);
const started = Date.now();
const results = [];
const scratch = mkdtempSync(join(tmpdir(), 'savepoint-docs-'));

try {
  await Promise.all([checkReference(), checkBrokenReferenceFails()]);
  checkLinkFixtures();
  checkLinks();
} finally {
  rmSync(scratch, { recursive: true, force: true });
  report();
}

async function typedoc(args) {
  const bin = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    return { code: typeof error.code === 'number' ? error.code : 1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` || String(error) };
  }
}

async function checkReference() {
  const out = join(scratch, 'api');
  const { code, output } = await typedoc(['--options', 'typedoc.json', '--out', out]);
  const warnings = output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
  const modules = existsSync(join(out, 'modules')) ? readdirSync(join(out, 'modules')).length : 0;
  results.push({
    name: `API reference: typedoc.json builds without a warning (${modules} packages)`,
    ok: code === 0 && warnings.length === 0 && modules > 0,
    output,
  });
}

async function checkBrokenReferenceFails() {
  const fixture = relative(root, join(here, 'fixtures', 'broken-reference', 'packages', '*'));
  const { code, output } = await typedoc(['--options', 'typedoc.json', '--entryPoints', fixture, '--out', join(scratch, 'broken')]);
  results.push({
    name: 'API reference: a broken {@link} fails the build',
    ok: code !== 0 && /DoesNotExist/.test(output),
    output: `exit ${code}; expected a failure naming DoesNotExist:\n${output}`,
  });
}

function checkLinkFixtures() {
  const fixtures = relative(root, join(here, 'fixtures', 'links'));
  const good = brokenLinks(root, join(fixtures, 'good.md'));
  results.push({ name: 'link checker: accepts good links (headings, repeats, encoded names, references, code ignored)', ok: good.length === 0, output: good.join('\n') });
  const bad = brokenLinks(root, join(fixtures, 'bad.md'));
  const expected = ['nowhere.md', 'other.md#no-such-heading', '#nope', '/docs/guide.md', 'gone/away.md'];
  const found = expected.filter((target) => bad.some((line) => line.includes(`: ${target}: `)));
  results.push({
    name: 'link checker: reports missing files, missing headings and absolute paths',
    ok: found.length === expected.length && bad.length === expected.length,
    output: `expected ${expected.join(', ')}; got:\n${bad.join('\n')}`,
  });
}

function checkLinks() {
  const files = ['README.md', ...markdownUnder('docs', ['api']), 'examples/README.md', ...readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'examples', entry.name, 'README.md')))
    .map((entry) => `examples/${entry.name}/README.md`)];
  for (const file of files) {
    const problems = brokenLinks(root, file);
    results.push({ name: `links of ${file}`, ok: problems.length === 0, output: problems.join('\n') });
  }
}

function markdownUnder(dir, skip) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return skip.includes(entry.name) ? [] : markdownUnder(path, []);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

function report() {
  const failed = results.filter((result) => !result.ok);
  for (const result of results) console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}`);
  for (const result of failed) console.log(`\n--- ${result.name}\n${result.output}`);
  const totals = { passed: results.length - failed.length, failed: failed.length, skipped: 0 };
  mkdirSync(join(root, '.test-results'), { recursive: true });
  writeFileSync(join(root, '.test-results', 'tests__docs.json'), JSON.stringify(totals) + '\n');
  console.log(`\ndocs check: ${totals.passed} passed, ${totals.failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = failed.length === 0 && results.length > 0 ? 0 : 1;
}
