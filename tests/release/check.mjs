// The trial release: copies the repository (tracked and new files, as they are now) to a scratch directory, runs
// `changeset version` there and checks what it would publish. While packages are 0.x no release may be a major:
// changesets proposes one for every package whose peer range on @savepoint/core the new core version leaves (the
// scheme: widen the peer ranges to the new core minor in the same release, see .changeset/README.md).
// Prints every proposed version; exits non-zero with the fix when a major is proposed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportChecks } from '../../scripts/check-report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const changesets = createRequire(join(root, 'package.json')).resolve('@changesets/cli/bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'savepoint-release-'));
const results = [];
checkPublishMetadata();
try {
  copyRepository(scratch);
  const before = publicPackages(scratch);
  execFileSync(process.execPath, [changesets, 'version'], { cwd: scratch, stdio: 'pipe', env: { ...process.env, CI: '1' } });
  const after = publicPackages(scratch);
  console.log('trial `changeset version`:');
  for (const [name, pkg] of after) {
    const from = before.get(name).version;
    const peer = pkg.peerDependencies?.['@savepoint/core'];
    console.log(`  ${name.padEnd(30)} ${from} -> ${pkg.version}${peer ? `  (peer @savepoint/core ${peer})` : ''}`);
    const major = from.startsWith('0.') && !pkg.version.startsWith('0.');
    results.push({
      name: `${name} stays 0.x (${from} -> ${pkg.version})`,
      ok: !major,
      output: major
        ? `changesets proposes ${pkg.version} for ${name}: ${peerHint(name, before, after)}`
        : '',
    });
  }
} catch (error) {
  results.push({ name: 'trial changeset version', ok: false, output: `${error.stderr ?? ''}${error.stack ?? error}` });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
report();

/**
 * What the registry shows and needs: a repository pointing at the package's folder, homepage, bugs, keywords,
 * public access with provenance, the LICENSE in the tarball, and README links that work off GitHub (absolute).
 */
function checkPublishMetadata() {
  for (const [name, pkg] of publicPackages(root)) {
    const folder = pkg.repository?.directory ?? '';
    const problems = [];
    if (!/^git\+https:\/\/github\.com\/.+\.git$/.test(pkg.repository?.url ?? '')) problems.push('repository.url is not a git+https GitHub URL');
    if (!folder || !exists(join(root, folder, 'package.json')) || JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')).name !== name) {
      problems.push('repository.directory is not its folder');
    }
    if (!pkg.homepage?.startsWith('https://')) problems.push('no homepage');
    if (!pkg.bugs?.url?.startsWith('https://')) problems.push('no bugs.url');
    if (!(pkg.keywords?.length > 0)) problems.push('no keywords');
    if (pkg.publishConfig?.access !== 'public' || pkg.publishConfig?.provenance !== true) problems.push('publishConfig must be { access: "public", provenance: true }');
    if (!pkg.files?.includes('LICENSE') || !exists(join(root, folder, 'LICENSE'))) problems.push('LICENSE is not in its folder and in "files"');
    const readme = exists(join(root, folder, 'README.md')) ? readFileSync(join(root, folder, 'README.md'), 'utf8') : '';
    if (!readme) problems.push('no README.md');
    const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((link) => !/^(https?:|mailto:|#)/.test(link));
    if (relative.length > 0) problems.push(`README links that break on the registry page (make them absolute): ${relative.join(', ')}`);
    results.push({ name: `${name} publish metadata`, ok: problems.length === 0, output: problems.join('\n') });
  }
}

function exists(file) {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Tracked and new (not ignored) files, so pending changesets and uncommitted edits count, as a release would see them. */
function copyRepository(destination) {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(destination, file)), { recursive: true });
    try {
      copyFileSync(join(root, file), join(destination, file));
    } catch (error) {
      if (error.code !== 'ENOENT') throw error; // deleted in the work tree but not yet in the index
    }
  }
}

function publicPackages(dir) {
  const workspace = readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [...workspace.matchAll(/^\s+-\s+(\S+)\/\*\s*$/gm)].map((m) => m[1]);
  const packages = new Map();
  for (const folder of globs) {
    for (const name of execFileSync('ls', [join(dir, folder)], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      let pkg;
      try {
        pkg = JSON.parse(readFileSync(join(dir, folder, name, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      if (!pkg.private) packages.set(pkg.name, pkg);
    }
  }
  return packages;
}

function peerHint(name, before, after) {
  const peer = before.get(name).peerDependencies?.['@savepoint/core'];
  const core = after.get('@savepoint/core')?.version;
  if (!peer || !core) return 'a 0.x package must not be released as a major; check its changesets.';
  const minor = core.split('.').slice(0, 2).join('.');
  return `@savepoint/core goes to ${core}, outside its peer range "${peer}". Widen that range in packages' package.json to "${peer} || ^${minor}.0" in the same release.`;
}

function report() {
  const totals = reportChecks(results, 'tests__release');
  console.log(`\nrelease check: ${totals.passed} passed, ${totals.failed} failed`);
}
