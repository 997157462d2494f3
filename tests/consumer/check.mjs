// The packed-tarball consumer check: installs every public package the way a user does (npm, from the tarballs
// `pnpm pack` makes, in a project outside the workspace) and checks what that user gets:
//   - tsc --noEmit, strict, skipLibCheck false, under node16, nodenext and bundler (esnext) resolution, of a file
//     importing every package (as ESM and as CommonJS) and of every unmarked ts block of the READMEs and docs;
//   - an ESM and a CommonJS smoke script running a workflow on the SQLite backend.
// Exits non-zero when anything fails, printing each failure; outside CI it then keeps the scratch project (its path is printed).
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { reportChecks } from '../../scripts/check-report.mjs';
import { documentedFiles, tsBlocks } from './readme-blocks.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const exec = promisify(execFile);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

const MODES = [
  { name: 'node16', module: 'node16', moduleResolution: 'node16', files: ['consumer.mts', 'consumer.cts'] },
  { name: 'nodenext', module: 'nodenext', moduleResolution: 'nodenext', files: ['consumer.mts', 'consumer.cts'] },
  // A bundler project has no CommonJS files of its own.
  { name: 'bundler', module: 'esnext', moduleResolution: 'bundler', files: ['consumer.mts'] },
];

const scratch = mkdtempSync(join(tmpdir(), 'savepoint-consumer-'));
const results = [];
try {
  const tarballs = await packPublicPackages(join(scratch, 'tarballs'));
  console.log(`packed ${tarballs.length} packages (${elapsed()})`);
  await installLikeAUser(tarballs);
  console.log(`installed them with npm in ${scratch} (${elapsed()})`);
  const blocks = writeSources();
  const [typeChecks, smokes] = await Promise.all([
    Promise.all(MODES.map((mode) => typeCheck(mode, blocks))),
    Promise.all([smoke('smoke.mjs'), smoke('smoke.cjs')]),
  ]);
  results.push(...typeChecks.map((check) => check.result), ...blockResults(blocks, typeChecks), ...smokes);
} catch (error) {
  results.push({ name: 'setup', ok: false, output: error.stack ?? String(error) });
}
report();

async function packPublicPackages(destination) {
  mkdirSync(destination, { recursive: true });
  const dirs = readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private);
  await Promise.all(dirs.map((dir) => exec('pnpm', ['pack', '--pack-destination', destination], { cwd: dir })));
  return readdirSync(destination).map((file) => join(destination, file));
}

async function installLikeAUser(tarballs) {
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'savepoint-consumer', private: true }) + '\n');
  // better-sqlite3 compiles a native addon on install (no prebuilt binary is downloadable here), which takes
  // minutes. The workspace built the same version already, so the check installs that version and reuses its addon.
  const workspaceSqlite = dirname(createRequire(join(root, 'packages/backend-sqlite/package.json')).resolve('better-sqlite3/package.json'));
  const sqliteVersion = JSON.parse(readFileSync(join(workspaceSqlite, 'package.json'), 'utf8')).version;
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'];
  const specs = [...tarballs, 'typescript@~5.9', '@types/node@20', 'zod@^4', `better-sqlite3@${sqliteVersion}`];
  await run('npm', [...args, ...specs], 'npm install');
  cpSync(join(workspaceSqlite, 'build'), join(scratch, 'node_modules/better-sqlite3/build'), { recursive: true });
}

/** Writes the consumer files, the smoke scripts, each README block and one tsconfig per mode; returns the blocks. */
function writeSources() {
  const fixtures = join(here, 'fixtures');
  copyFileSync(join(fixtures, 'consumer.mts'), join(scratch, 'consumer.mts'));
  copyFileSync(join(fixtures, 'consumer.mts'), join(scratch, 'consumer.cts'));
  for (const file of ['smoke.mjs', 'smoke.cjs', 'smoke-run.cjs']) copyFileSync(join(fixtures, file), join(scratch, file));
  mkdirSync(join(scratch, 'readme'));
  const ts = createRequire(join(scratch, 'package.json'))('typescript');
  const blocks = documentedFiles(root)
    .flatMap((source) => tsBlocks(root, source))
    .filter((block) => !block.fragment)
    .map((block) => {
      const file = `readme/${block.source.replace(/[/.]/g, '_')}_L${block.line}.mts`;
      writeFileSync(join(scratch, file), block.code);
      return { ...block, file, syntaxErrors: syntaxErrors(ts, file, block.code) };
    });
  // tsc reports nothing but syntax errors when any file has one, so such a block would hide every type error.
  const parsed = blocks.filter((block) => block.syntaxErrors.length === 0);
  for (const mode of MODES) {
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022'],
      module: mode.module,
      moduleResolution: mode.moduleResolution,
      moduleDetection: 'force',
    };
    const files = [...mode.files, ...parsed.map((block) => block.file)];
    writeFileSync(join(scratch, `tsconfig.${mode.name}.json`), JSON.stringify({ compilerOptions, files }, null, 2) + '\n');
  }
  return blocks;
}

/** tsc's own format (`file(line,col): error TS…: message`), so blocks' errors map to README lines like tsc's. */
function syntaxErrors(ts, file, code) {
  const { diagnostics = [] } = ts.transpileModule(code, { fileName: file, reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } });
  return diagnostics.map((diagnostic) => {
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    return `${file}(${line + 1},${character + 1}): error TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

/** One tsc run; its diagnostics are split into the README blocks' (reported per block) and everything else. */
async function typeCheck(mode, blocks) {
  const tsc = join(scratch, 'node_modules/typescript/bin/tsc');
  const { code, output } = await capture(process.execPath, [tsc, '-p', `tsconfig.${mode.name}.json`, '--pretty', 'false']);
  const diagnostics = diagnosticsOf(output);
  const inBlock = (diagnostic) => blocks.some((block) => diagnostic.startsWith(`${block.file}(`));
  const others = diagnostics.filter((diagnostic) => !inBlock(diagnostic));
  // A non-zero exit with no diagnostic at all (tsc crashed) is a failure too.
  const ok = others.length === 0 && (code === 0 || diagnostics.length > 0);
  const name = `tsc ${mode.name}: every package, as ESM${mode.files.length > 1 ? ' and CommonJS' : ''}`;
  return { mode, diagnostics, result: { name, ok, output: others.join('\n') || output } };
}

/** tsc's output as one string per diagnostic: its indented continuation lines stay with it. */
function diagnosticsOf(output) {
  const diagnostics = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && diagnostics.length > 0) diagnostics[diagnostics.length - 1] += `\n${line}`;
    else diagnostics.push(line);
  }
  return diagnostics;
}

/** A block passes when it parses and no mode reported an error in it; errors point at the README line. */
function blockResults(blocks, typeChecks) {
  const atReadmeLine = (block, prefix) => (diagnostic) =>
    diagnostic.replace(/^[^(]+\((\d+),(\d+)\)/, (_, row, col) => `${prefix}${block.source}:${block.line + Number(row) - 1}:${col}`);
  return blocks.map((block) => {
    const errors = [
      ...block.syntaxErrors.map(atReadmeLine(block, '')),
      ...typeChecks.flatMap(({ mode, diagnostics }) =>
        diagnostics.filter((diagnostic) => diagnostic.startsWith(`${block.file}(`)).map(atReadmeLine(block, `[${mode.name}] `)),
      ),
    ];
    return { name: `README block ${block.source}:${block.line}`, ok: errors.length === 0, output: errors.join('\n') };
  });
}

async function smoke(script) {
  const { code, output } = await capture(process.execPath, [script]);
  return { name: `smoke ${script}: ${output.trim().split('\n').at(-1)}`, ok: code === 0, output };
}

async function run(command, args, what) {
  const { code, output } = await capture(command, args);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${output}`);
}

async function capture(command, args) {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd: scratch, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    return { code: typeof error.code === 'number' ? error.code : 1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` || String(error) };
  }
}

function report() {
  const totals = reportChecks(results, 'tests__consumer');
  // A failed local run keeps the project to look into; CI has nobody to look.
  if (totals.failed === 0 || process.env.CI) rmSync(scratch, { recursive: true, force: true });
  else console.log(`\nscratch project kept for a look: ${scratch}`);
  console.log(`\nconsumer check: ${totals.passed} passed, ${totals.failed} failed (${elapsed()})`);
}
