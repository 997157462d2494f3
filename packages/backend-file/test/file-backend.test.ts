import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  BackendUnavailableError,
  CheckpointStore,
  CorruptCheckpointError,
  InvalidArgumentError,
  type HeaderRecord,
} from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { DEAD_PID, plantLock } from './support/lock-files.js';
import { packFiles } from './support/packs.js';
import { makeBackend, makeTempDir, removeDir } from './support/temp-dir.js';

// pid 1 always exists; as a user other than root, signalling it fails with EPERM, which also means alive.
const LIVE_PID = 1;

const run = promisify(execFile);

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('FileBackend on disk', () => {
  let backend: FileBackend;

  beforeEach(async () => {
    backend = await makeBackend();
  });

  afterEach(async () => {
    await removeDir(backend.dir);
  });

  it('writes each header as readable, pretty JSON named by seq and id, followed by the blobs saved with it', async () => {
    const store = new CheckpointStore(backend);
    const checkpoint = makeCheckpoint({ seq: 3, status: 'pending_input', metadata: { note: 'read me' }, originalInput: { text: 'in the pack' } });
    await store.save(checkpoint);
    const path = join(backend.dir, 'runs', 'run-1', 'headers', `0000000000000003-${checkpoint.id}.json`);
    const text = await readFile(path, 'utf8');
    expect(text).toContain('\n  "status": "pending_input"');
    const headerEnd = text.indexOf('\n}\n') + 2;
    expect(text.slice(headerEnd)).toContain('in the pack');
    expect(text).toMatch(/\nsavepoint-pack 1 \d{16}\n$/);
    const onDisk = JSON.parse(text.slice(0, headerEnd)) as Record<string, unknown>;
    expect(onDisk).toMatchObject({ id: checkpoint.id, runId: 'run-1', flowId: 'flow-a', seq: 3 });
    expect(typeof onDisk.body).toBe('object');
    expect(JSON.stringify(onDisk.body)).toContain('read me');
    expect(await backend.getHead('run-1')).toBe(checkpoint.id);
  });

  it('keeps a body that is not canonical JSON as text, byte for byte', async () => {
    const header = makeHeader({ body: '{ "spaced": true }' });
    await backend.putHeader(header);
    const text = await readFile(join(backend.dir, 'ids', header.id), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ bodyText: '{ "spaced": true }' });
    expect((await backend.getHeader(header.id))?.body).toBe(header.body);
  });

  it('leaves no temp or lock files behind', async () => {
    const store = new CheckpointStore(backend);
    const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
    const first = makeCheckpoint();
    await store.save(first, { lease });
    await Promise.all(
      [1, 2, 3, 4].map((seq) => store.save(makeCheckpoint({ seq, originalInput: { seq } }), { lease })),
    );
    await store.delete(first.id);
    await store.renewLease(lease, 60_000);
    await store.releaseLease(lease);
    await store.cleanup({ maxCheckpoints: 1 });
    const files = await listFiles(backend.dir);
    expect(files.some((file) => file.includes('/headers/'))).toBe(true);
    expect(files.filter((file) => file.endsWith('.tmp') || file.includes('/lock/stage-'))).toEqual([]);
  });

  it('keeps reading the header of a file whose blobs were cut off, and reports the checkpoint as corrupt', async () => {
    const store = new CheckpointStore(backend);
    const checkpoint = makeCheckpoint({ originalInput: { text: 'x'.repeat(1000) } });
    await store.save(checkpoint);
    const [pack] = await packFiles(backend.dir, 'run-1');
    const text = await readFile(pack!, 'utf8');
    // A torn write (on a file system that does not order data before names): the header is whole, the blobs are not.
    await truncate(pack!, text.indexOf('xxxxx'));
    expect(await backend.getHeader(checkpoint.id)).toMatchObject({ id: checkpoint.id });
    await expect(new CheckpointStore(backend).load(checkpoint.id)).rejects.toThrow(CorruptCheckpointError);
  });

  it('reports a header file that is not JSON as corrupt', async () => {
    const header = makeHeader();
    await backend.putHeader(header);
    await writeFile(join(backend.dir, 'runs', 'run-1', 'headers', `0000000000000000-${header.id}.json`), '{"id": "tru');
    await expect(backend.queryHeaders({ runId: 'run-1' })).rejects.toThrow(CorruptCheckpointError);
  });

  it('ignores index entries whose header was never committed', async () => {
    const header = makeHeader();
    await backend.putHeader(header);
    // What a writer that died between linking and the commit rename leaves behind.
    const dangling: HeaderRecord = { ...header, id: '01-dangling', seq: 1 };
    await writeFile(join(backend.dir, 'ids', dangling.id), JSON.stringify(dangling));
    await writeFile(join(backend.dir, 'flows', 'flow-a', dangling.id), JSON.stringify(dangling));
    expect(await backend.getHeader(dangling.id)).toBeNull();
    expect((await backend.queryHeaders({ flowId: 'flow-a' })).map((row) => row.id)).toEqual([header.id]);
    expect((await backend.queryHeaders({})).map((row) => row.id)).toEqual([header.id]);
    await backend.putHeader(dangling);
    expect(await backend.getHeader(dangling.id)).toEqual(dangling);
    expect(await backend.getHead('run-1')).toBe(dangling.id);
  });

  it('breaks the lock of a dead process, removes what it left and destroys its stage', async () => {
    const first = makeHeader({ seq: 0 });
    const second = makeHeader({ seq: 1, parentCheckpointId: first.id });
    await backend.putHeader(first);
    await backend.putHeader(second);
    // A writer that died holding the lock, with a header staged but not published, and a temp file of its own.
    const runDir = join(backend.dir, 'runs', 'run-1');
    const stage = await plantLock(runDir, { pid: DEAD_PID, gen: 7 });
    await writeFile(join(stage, 'staged-header'), 'never published');
    await writeFile(join(runDir, 'headers', `.leftover.json.${DEAD_PID}.0123456789ab.tmp`), 'half');
    const third = makeHeader({ seq: 2, parentCheckpointId: second.id });
    await expect(backend.putHeader(third, { expectedHead: first.id })).rejects.toThrow('moved on');
    await backend.putHeader(third, { expectedHead: second.id });
    expect(await backend.getHead('run-1')).toBe(third.id);
    expect(await listFiles(runDir)).not.toContainEqual(expect.stringMatching(/\.tmp$|stage-|staged/));
    // Generations only grow: the dead holder's number is retired, the next one is released. The backend's own
    // stage (kept, empty, between its holdings) goes with close().
    await backend.close();
    expect(await readdir(join(runDir, 'lock'))).toEqual(['0000000000000009.free']);
  });

  it('waits for a live lock and gives up with BackendUnavailableError after lockTimeoutMs', async () => {
    const impatient = new FileBackend({ dir: backend.dir, lockTimeoutMs: 50 });
    await plantLock(join(backend.dir, 'runs', 'run-1'), { pid: LIVE_PID });
    await expect(impatient.putHeader(makeHeader())).rejects.toThrow(BackendUnavailableError);
    await expect(impatient.acquireLease('run-1', 'w', 1000)).rejects.toThrow(BackendUnavailableError);
    expect(await impatient.getHead('run-1')).toBeNull();
  });

  it('breaks a lock older than lockStaleMs even when its pid is alive', async () => {
    const quick = new FileBackend({ dir: backend.dir, lockStaleMs: 1000 });
    await plantLock(join(backend.dir, 'runs', 'run-1'), { pid: LIVE_PID, createdAt: Date.now() - 5000 });
    const header = makeHeader();
    await quick.putHeader(header);
    expect(await quick.getHead('run-1')).toBe(header.id);
  });

  it('breaks at once a lock this process abandoned (its pid, no holding of that nonce)', async () => {
    const patient = new FileBackend({ dir: backend.dir, lockStaleMs: 3_600_000 });
    await plantLock(join(backend.dir, 'runs', 'run-1'), { pid: process.pid });
    const header = makeHeader();
    await patient.putHeader(header);
    expect(await patient.getHead('run-1')).toBe(header.id);
  });

  it('refuses a missing dir option and unsafe ids', async () => {
    expect(() => new FileBackend({ dir: '' })).toThrow(InvalidArgumentError);
    await expect(backend.putBlobs('../x', [])).rejects.toThrow(InvalidArgumentError);
    await expect(backend.getBlobs('run-1', ['../../HEAD'])).rejects.toThrow(InvalidArgumentError);
    await expect(backend.getHeader('a/b')).rejects.toThrow(InvalidArgumentError);
    await expect(backend.queryHeaders({ flowId: '..' })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('FileBackend across processes', () => {
  it('lets exactly one of three processes win each compare-and-set round, with no torn files', async () => {
    const dir = await makeTempDir();
    try {
      const lastSeq = 24;
      const child = join(__dirname, 'support', 'cas-writer.ts');
      const register = join(__dirname, 'support', 'ts-register.cjs');
      const workers = ['w1', 'w2', 'w3'];
      const running = Promise.all(workers.map((worker) => run(process.execPath, ['-r', register, child, dir, worker, String(lastSeq)])));
      // Bounded so that a child that dies before the barrier surfaces as its own error below.
      const deadline = Date.now() + 20_000;
      const ready = async () => (await readdir(dir)).filter((name) => name.startsWith('ready-')).length;
      while ((await ready()) < workers.length && Date.now() < deadline) await sleep(5);
      await writeFile(join(dir, 'go'), '');
      const outputs = await running;
      const reports = outputs.map((output) => JSON.parse(output.stdout) as { wins: number; conflicts: number });
      expect(reports.reduce((sum, report) => sum + report.wins, 0)).toBe(lastSeq + 1);

      const store = new CheckpointStore(new FileBackend({ dir }));
      const history = await store.listByRun('shared-run', { limit: 1000 });
      expect(history.map((summary) => summary.seq)).toEqual(Array.from({ length: lastSeq + 1 }, (_, i) => lastSeq - i));
      for (const [i, summary] of history.entries()) {
        expect(summary.parentCheckpointId).toBe(history[i + 1]?.id ?? null);
        const loaded = await store.load(summary.id);
        expect(loaded.originalInput).toMatchObject({ seq: summary.seq, worker: loaded.metadata.worker });
      }
      expect(await store.getHead('shared-run')).toBe(history[0]!.id);
      const leftovers = (await listFiles(dir)).filter((file) => /\.tmp$|stage-/.test(file));
      expect(leftovers).toEqual([]);
    } finally {
      await removeDir(dir);
    }
  });
});
