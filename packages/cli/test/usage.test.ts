import { mkdtempSync, rmSync, symlinkSync, mkdirSync, cpSync, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { afterAll, describe, expect, test } from '@jest/globals';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { parseBackendUrl } from '../src/index';
import { sqliteBackend } from './helpers/backends';
import { inProcess, json, spawned, type CliOutcome } from './helpers/runners';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeWorkflows } = require('./helpers/fixture-workflows.cjs');

const scratch = mkdtempSync(join(tmpdir(), 'savepoint-cli-usage-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('usage', () => {
  test('--help on the program and on every command exits 0 and documents the exit codes', async () => {
    const help = await inProcess(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toContain('4  backend unreachable');
    for (const command of [['runs', 'list'], ['runs', 'show'], ['checkpoints'], ['checkpoint', 'show'], ['diff'], ['answer'], ['cancel'], ['delete'], ['prune'], ['migrate'], ['verify'], ['resume']]) {
      const out = await inProcess([...command, '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`Usage: savepoint ${command.join(' ')}`);
    }
    expect((await inProcess(['cancel', '--help'])).stdout).toContain('No workflow code is needed');
  });

  test('a wrong command line exits 2', async () => {
    const none = await inProcess([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: savepoint');
    expect((await inProcess(['nope'])).code).toBe(2);
    expect((await inProcess(['runs', 'show'])).code).toBe(2);
    expect((await inProcess(['runs', 'list', '--bogus'])).code).toBe(2);
    expect((await inProcess(['-b', 'sqlite:x.db', 'runs', 'list', '--status', 'sleeping'])).code).toBe(2);
    expect((await inProcess(['resume', 'r1'])).stderr).toContain("required option '--module <file>'");
  });

  test.each([
    [['-b', 'mysql://localhost/db'], 'Unknown backend URL'],
    [['-b', 'sqlite:'], 'names no a database file'],
    [['-b', 'file:'], 'names no a directory'],
    [['-b', 'file://remote-host/dir'], 'not a valid file URL'],
    [['-b', 'postgres://u:secret@[bad/db'], 'does not parse'],
    [['-b', 'sqlite:x.db', '--prefix', 'p:'], '--prefix does not apply to a sqlite backend'],
    [['-b', 'redis://localhost', '--schema', 's'], '--schema does not apply to a redis backend'],
    [[], 'No backend given'],
  ])('bad backend %j exits 2: %s', async (args, message) => {
    const out = await inProcess([...args, 'runs', 'list'], { SAVEPOINT_BACKEND: '' });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).not.toContain('secret');
  });

  test('bad arguments exit 2 before anything is touched', async () => {
    const db = `sqlite:${join(scratch, 'args.db')}`;
    expect((await inProcess(['-b', db, 'runs', 'list', '--limit', '0'])).stderr).toContain('--limit must be a positive integer');
    expect((await inProcess(['-b', db, 'checkpoints', 'r', '--limit', 'x'])).code).toBe(2);
    expect((await inProcess(['-b', db, 'prune', '--older-than', '3 days'])).stderr).toContain('--older-than takes a duration');
    expect((await inProcess(['-b', db, 'prune', '--older-than', '5'])).code).toBe(2);
    const unfinished = await inProcess(['-b', db, 'prune', '--status', 'completed,pending_input']);
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toContain('Unfinished runs are never pruned');
  });

  test('errors are JSON on stdout with --json, and the backend comes from SAVEPOINT_BACKEND', async () => {
    const out = await inProcess(['runs', 'show', 'ghost', '--json'], { SAVEPOINT_BACKEND: `sqlite:${join(scratch, 'env.db')}` });
    expect(out.code).toBe(3);
    expect(json(out)).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('Run ghost not found') } });
  });

  test('an unreachable server exits 4', async () => {
    const out = await inProcess(['-b', 'postgres://nobody:pw@127.0.0.1:1/none', 'runs', 'list']);
    expect(out.code).toBe(4);
    expect(out.stderr).toMatch(/savepoint: .+/);
  });

  test('a missing backend package exits 4 and names the package to install (a real install without it)', async () => {
    // What a user gets after `npm install @savepoint/cli @savepoint/core` without a backend: the CLI and its own
    // dependencies, resolvable from its node_modules, and nothing else.
    const project = join(scratch, 'project');
    const cliDir = join(project, 'node_modules', '@savepoint', 'cli');
    mkdirSync(cliDir, { recursive: true });
    cpSync(join(__dirname, '..', 'dist'), join(cliDir, 'dist'), { recursive: true });
    cpSync(join(__dirname, '..', 'package.json'), join(cliDir, 'package.json'));
    const here = join(__dirname, '..', 'node_modules');
    for (const name of ['@savepoint/core', 'commander', 'ajv', 'ajv-formats']) {
      mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
      symlinkSync(realpathSync(join(here, name)), join(project, 'node_modules', name), 'dir');
    }
    // ajv's own dependencies sit next to it in pnpm's store, where its real path resolves them.
    const bin = join(cliDir, 'dist', 'esm', 'bin.js');
    const out = await new Promise<CliOutcome>((resolve) =>
      execFile(process.execPath, [bin, '-b', 'redis://127.0.0.1:6379', 'runs', 'list'], { cwd: project }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );
    expect(out.stderr).toContain('npm install @savepoint/backend-redis');
    expect(out.code).toBe(4);
  });

  test('the bin is executable, starts with a shebang and exits 2 on a bad URL', async () => {
    const out = await spawned(['-b', 'mongodb://x', 'runs', 'list']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('Unknown backend URL');
  });
});

describe('backend URLs', () => {
  test('map to each backend with its flags; a password is never displayed', () => {
    expect(parseBackendUrl('sqlite:./.savepoint/app.db', { tablePrefix: 'sp_' })).toMatchObject({
      kind: 'sqlite',
      packageName: '@savepoint/backend-sqlite',
      options: { path: './.savepoint/app.db', tablePrefix: 'sp_' },
    });
    expect(parseBackendUrl('sqlite:///var/db/app.db').options).toEqual({ path: '/var/db/app.db' });
    expect(parseBackendUrl('file:./runs').options).toEqual({ dir: './runs' });
    expect(parseBackendUrl('file:///srv/runs').options).toEqual({ dir: '/srv/runs' });
    const pg = parseBackendUrl('postgresql://app:hunter2@db:5432/prod', { schema: 'ops', tablePrefix: 'sp_' });
    expect(pg).toMatchObject({ kind: 'postgres', options: { connectionString: 'postgresql://app:hunter2@db:5432/prod', schema: 'ops', tablePrefix: 'sp_' } });
    expect(pg.display).toBe('postgresql://app:***@db:5432/prod');
    expect(parseBackendUrl('rediss://:pw@cache:6380/2', { prefix: 'app:' })).toMatchObject({ kind: 'redis', options: { url: 'rediss://:pw@cache:6380/2', prefix: 'app:' }, display: 'rediss://:***@cache:6380/2' });
  });
});

describe('other backends and encrypted stores', () => {
  test('file: URLs read a file backend', async () => {
    const dir = join(scratch, 'files');
    const backend = new FileBackend({ dir });
    const paused = await makeWorkflows(backend).approval.run({ topic: 'files' });
    await backend.close?.();
    const out = await inProcess(['-b', `file:${dir}`, 'runs', 'list', '--json']);
    expect(out.code).toBe(0);
    expect(json(out).runs).toEqual([expect.objectContaining({ runId: paused.runId, status: 'pending_input' })]);
  });

  test('--key-env decrypts an encrypted store; without it the checkpoint cannot be read', async () => {
    const path = join(scratch, 'encrypted.db');
    const key = randomBytes(32);
    const backend = new SqliteBackend({ path });
    const { Workflow } = await import('@savepoint/core');
    const { approval } = makeWorkflows(backend);
    const encrypted = new Workflow({ id: 'approval', flow: approval.flow, checkpoint: { enabled: true, backend, encryption: { keys: [{ id: 'k1', key }] } } });
    const paused = await encrypted.run({ topic: 'secret plans' });
    await backend.close();
    const args = ['-b', `sqlite:${path}`, 'runs', 'show', paused.runId, '--json'];

    const locked = await inProcess(args);
    expect(locked.code).toBe(1);
    const opened = await inProcess(['--key-env', 'SP_KEYS', ...args], { SP_KEYS: `old:${randomBytes(32).toString('base64')},k1:${key.toString('base64')}` });
    expect(opened.code).toBe(0);
    expect(json(opened).nodes).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'draft', output: 'draft about secret plans' })]));

    expect((await inProcess(['--key-env', 'SP_UNSET', ...args], { SP_UNSET: '' })).stderr).toContain('SP_UNSET is not set');
    expect((await inProcess(['--key-env', 'SP_BAD', ...args], { SP_BAD: 'k1:c2hvcnQ=' })).stderr).toContain('<keyId>:<base64 of 32 bytes>');
  });

  test('progress goes to stderr on a terminal, never to stdout', async () => {
    const backend = sqliteBackend();
    try {
      const adapter = backend.open();
      const done = await makeWorkflows(adapter).approval.run({ topic: 'tty' });
      await adapter.close?.();
      let stdout = '';
      let stderr = '';
      const { runCli } = await import('../src/index');
      const code = await runCli([...backend.args, 'checkpoints', done.runId], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s), isTTY: true },
        env: {},
      });
      expect(code).toBe(0);
      expect(stderr).toContain('\r\x1b[2Kloading checkpoint 1/');
      expect(stdout).not.toContain('loading');
      expect(stdout).toContain(done.runId === undefined ? '' : 'SEQ');
    } finally {
      await backend.dispose();
    }
  });
});
