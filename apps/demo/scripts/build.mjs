// `pnpm demo` (and this script alone): builds what the demo runs, and shows each step while it does.
// `turbo run build --filter=@savepoint/demo...` would also build what those packages need only for their own
// tests (their devDependencies: the other backends, the conformance suite, the test servers), nine packages
// instead of four, and `--output-logs=errors-only` kept it silent for the minute a first build takes.
// So: the demo and the workspace packages it depends on at run time (dependencies, peer and optional ones,
// followed through the workspace), built by turbo in dependency order; `--only` keeps turbo from adding the
// test-only ones back, and `--output-logs=new-only` prints each package as it builds (cached ones in one line).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const demoDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = realpathSync(join(demoDir, '..', '..'));
const readPackage = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** The workspace packages `dir` needs at run time: pnpm links them into its node_modules, outside any store. */
function runtimeWorkspaceDeps(dir) {
  const pkg = readPackage(dir);
  const names = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
  return names
    .map((name) => join(dir, 'node_modules', ...name.split('/')))
    .filter((link) => existsSync(link))
    .map((link) => realpathSync(link))
    .filter((real) => real.startsWith(root + sep) && !real.slice(root.length).includes(`${sep}node_modules${sep}`));
}

const dirs = new Set([realpathSync(demoDir)]);
for (const dir of dirs) for (const dep of runtimeWorkspaceDeps(dir)) dirs.add(dep);
const names = [...dirs].map((dir) => readPackage(dir).name);

console.log(`Building the demo and what it runs: ${names.join(', ')}.`);
console.log('The first build takes about a minute; later ones only rebuild what changed.\n');
const turbo = createRequire(join(root, 'package.json')).resolve('turbo/bin/turbo');
const args = ['run', 'build', '--only', '--output-logs=new-only', ...names.map((name) => `--filter=${name}`)];
const result = spawnSync(process.execPath, [turbo, ...args], { cwd: root, stdio: 'inherit' });
if (result.error) throw result.error;
process.exitCode = result.status ?? 1;
