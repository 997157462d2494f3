// Builds the package in the current directory twice with tsc: ESM (dist/esm) and CJS (dist/cjs),
// each with its own .d.ts and a package.json marker so Node and TypeScript read the format right.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
const builds = [
  { dir: 'dist/esm', type: 'module', args: [] },
  { dir: 'dist/cjs', type: 'commonjs', args: ['--module', 'commonjs', '--moduleResolution', 'node10'] },
];
for (const build of builds) {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', build.dir, ...build.args], { stdio: 'inherit' });
  mkdirSync(build.dir, { recursive: true });
  writeFileSync(`${build.dir}/package.json`, JSON.stringify({ type: build.type }) + '\n');
}
