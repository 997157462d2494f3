import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import {
  BackendUnavailableError,
  CheckpointStore,
  CheckpointWriteError,
  Flow,
  FunctionNode,
  Workflow,
  type FlowCheckpoint,
  type Lease,
} from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';
import { canMount, fillUp, remount, withTmpfs } from './support/tmpfs.js';

const event = { type: 'stream_chunk', data: '{}', ts: 1 };
const input = (key: string) => ({ key, nodePath: 'approve', value: 'true', createdAt: 1 });

/** Every write the adapter has, each expected to fail on storage that takes no writes. */
function writes(backend: FileBackend, lease: Lease): Array<[string, () => Promise<unknown>]> {
  return [
    ['putHeader', () => backend.putHeader(makeHeader({ runId: 'run-2' }))],
    ['putBlobs', () => backend.putBlobs('run-2', [{ hash: 'h-new', data: 'blob' }])],
    ['appendEvents', () => backend.appendEvents('run-1', [event])],
    ['putInput', () => backend.putInput('run-1', input('key-new'))],
    ['takeInputs', () => backend.takeInputs('run-1', 'worker-b')],
    ['acquireLease', () => backend.acquireLease('run-3', 'worker-b', 1000)],
    ['renewLease', () => backend.renewLease(lease, 1000)],
    ['deleteBlobsExcept', () => backend.deleteBlobsExcept('run-1', new Set())],
  ];
}

/** `codes`: the fs error codes accepted as the cause. */
async function expectUnavailable(what: string, call: () => Promise<unknown>, ...codes: string[]): Promise<void> {
  const error = await call().then(
    () => new Error(`${what} succeeded`),
    (thrown: unknown) => thrown,
  );
  const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
  expect([what, BackendUnavailableError.isInstance(error), codes.includes(code) ? codes[0] : code]).toEqual([what, true, codes[0]]);
}

// Node's recursive mkdir reports a directory that cannot be created on a read-only file system as ENOENT.
const READ_ONLY = ['EROFS', 'ENOENT'];

function oneNodeWorkflow(backend: FileBackend) {
  const node = new FunctionNode({ id: 'a', run: async () => 1 });
  return new Workflow({ flow: new Flow({ id: 'flow-ro', nodes: [node] }), checkpoint: { enabled: true, backend } });
}

// Issue 8, defects 9 and 11: storage failures surface as BackendUnavailableError (with the fs error as cause),
// never as a raw ENOENT/EROFS/ENOSPC, and a full disk does not leave the run locked once space is back.
describe('FileBackend when the disk fails', () => {
  it('on a full disk: typed errors, committed checkpoints intact, and the run acquired again as soon as space is freed', async () => {
    if (!canMount('The disk-full test')) return;
    await withTmpfs('2m', async (mountPoint) => {
      const dir = join(mountPoint, 'store');
      const backend = new FileBackend({ dir });
      const store = new CheckpointStore(backend);
      const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
      const saved: FlowCheckpoint[] = [];
      for (let seq = 0; seq < 3; seq += 1) {
        const checkpoint = makeCheckpoint({ seq, parentCheckpointId: saved.at(-1)?.id ?? null, originalInput: { seq, text: `${seq}`.repeat(3000) } });
        await store.save(checkpoint, { lease, expectedHead: saved.at(-1)?.id ?? null });
        saved.push(checkpoint);
      }
      const head = saved.at(-1)!;
      await backend.putInput('run-1', input('key-1'));

      expect(await fillUp(join(mountPoint, 'filler'))).toBeGreaterThan(0);
      const next = makeCheckpoint({ seq: 3, parentCheckpointId: head.id, originalInput: { text: 'z'.repeat(50_000) } });
      const saveError = await store.save(next, { lease, expectedHead: head.id }).catch((error: unknown) => error);
      expect(BackendUnavailableError.isInstance(saveError) || CheckpointWriteError.isInstance(saveError)).toBe(true);
      for (const [what, call] of writes(backend, lease)) {
        if (what !== 'deleteBlobsExcept' && what !== 'renewLease') await expectUnavailable(what, call, 'ENOSPC');
      }
      // The release cannot be written: it is owed, and retried in the background.
      await expectUnavailable('releaseLease', () => store.releaseLease(lease), 'ENOSPC');

      const reader = new CheckpointStore(new FileBackend({ dir }));
      expect(await reader.getHead('run-1')).toBe(head.id);
      for (const checkpoint of saved) expect((await reader.load(checkpoint.id)).originalInput).toEqual(checkpoint.originalInput);

      await rm(join(mountPoint, 'filler'));
      // Another process (its own instance) gets the run long before the 60 s lease could expire.
      const otherProcess = new FileBackend({ dir });
      let taken: Lease | null = null;
      for (const deadline = Date.now() + 20_000; taken === null && Date.now() < deadline; await sleep(50)) {
        taken = await otherProcess.acquireLease('run-1', 'worker-b', 60_000);
      }
      expect(taken).toMatchObject({ owner: 'worker-b', token: lease.token + 1 });
      const resumed = makeCheckpoint({ seq: 3, parentCheckpointId: head.id });
      await new CheckpointStore(otherProcess).save(resumed, { lease: taken!, expectedHead: head.id });
      expect(await reader.getHead('run-1')).toBe(resumed.id);
      expect(await otherProcess.takeInputs('run-1', 'worker-b')).toEqual([expect.objectContaining({ key: 'key-1' })]);
    });
  });

  it('on a full disk, this process acquires the run at once with a new owner, its failed release being owed', async () => {
    if (!canMount('The disk-full test')) return;
    await withTmpfs('2m', async (mountPoint) => {
      const backend = new FileBackend({ dir: join(mountPoint, 'store') });
      const lease = (await backend.acquireLease('run-1', 'worker-a', 60_000))!;
      await fillUp(join(mountPoint, 'filler'));
      await expectUnavailable('releaseLease', () => backend.releaseLease(lease), 'ENOSPC');
      await rm(join(mountPoint, 'filler'));
      expect(await backend.acquireLease('run-1', 'worker-b', 60_000)).toMatchObject({ owner: 'worker-b', token: lease.token + 1 });
      expect(await backend.renewLease(lease, 60_000)).toBeNull();
    });
  });

  it('on a read-only file system every write is BackendUnavailableError (EROFS), reads still answer, run() too', async () => {
    if (!canMount('The read-only test')) return;
    await withTmpfs('8m', async (mountPoint) => {
      const dir = join(mountPoint, 'store');
      const backend = new FileBackend({ dir });
      const store = new CheckpointStore(backend);
      const checkpoint = makeCheckpoint();
      await store.save(checkpoint);
      await backend.appendEvents('run-1', [event]);
      await backend.putInput('run-1', input('key-1'));
      const lease = (await backend.acquireLease('run-1', 'worker-a', 60_000))!;

      await remount(mountPoint, 'ro');
      try {
        // The instance that wrote before, and one that never ran setup() (its first call finds the store read-only).
        for (const adapter of [backend, new FileBackend({ dir })]) {
          for (const [what, call] of writes(adapter, lease)) await expectUnavailable(what, call, ...READ_ONLY);
          await expectUnavailable('deleteHeaders', () => adapter.deleteHeaders([checkpoint.id]), ...READ_ONLY);
          expect(await adapter.getHead('run-1')).toBe(checkpoint.id);
          expect((await adapter.queryHeaders({ flowId: checkpoint.flowId })).map((header) => header.id)).toEqual([checkpoint.id]);
          expect((await adapter.readEvents('run-1', 0)).length).toBe(1);
          expect(await adapter.getInput('run-1', 'key-1')).toMatchObject({ key: 'key-1' });
          expect((await new CheckpointStore(adapter).load(checkpoint.id)).id).toBe(checkpoint.id);
        }
        const outcome = await oneNodeWorkflow(new FileBackend({ dir })).run({}).catch((error: unknown) => error);
        expect(BackendUnavailableError.isInstance(outcome)).toBe(true);
      } finally {
        await remount(mountPoint, 'rw');
      }
    });
  });

  it('a store directory that cannot exist (a file in its path) is BackendUnavailableError, for reads and writes', async () => {
    const parent = await makeTempDir();
    try {
      await writeFile(join(parent, 'not-a-dir'), 'x');
      const backend = new FileBackend({ dir: join(parent, 'not-a-dir', 'store') });
      const lease: Lease = { runId: 'run-1', owner: 'w', token: 1, expiresAt: Date.now() + 1000 };
      for (const [what, call] of writes(backend, lease)) await expectUnavailable(what, call, 'ENOTDIR');
      await expectUnavailable('getHead', () => backend.getHead('run-1'), 'ENOTDIR');
      await expectUnavailable('setup', () => backend.setup(), 'ENOTDIR');
      const outcome = await oneNodeWorkflow(backend).run({}).catch((error: unknown) => error);
      expect(BackendUnavailableError.isInstance(outcome)).toBe(true);
    } finally {
      await removeDir(parent);
    }
  });

  it("a regular file where the store's runs/ directory belongs is BackendUnavailableError naming it (not a raw EEXIST)", async () => {
    const dir = await makeTempDir();
    try {
      await writeFile(join(dir, 'runs'), 'x');
      const backend = new FileBackend({ dir });
      const lease: Lease = { runId: 'run-1', owner: 'w', token: 1, expiresAt: Date.now() + 1000 };
      for (const [what, call] of writes(backend, lease)) await expectUnavailable(what, call, 'EEXIST');
      await expectUnavailable('getHead', () => backend.getHead('run-1'), 'EEXIST');
      await expect(backend.setup()).rejects.toThrow(`${join(dir, 'runs')} (EEXIST): a regular file is where the store needs a directory`);
    } finally {
      await removeDir(dir);
    }
  });

  it("a regular file in place of a run's directory is BackendUnavailableError naming it, for every entry point", async () => {
    const dir = await makeTempDir();
    try {
      const backend = new FileBackend({ dir });
      await backend.setup();
      for (const runId of ['run-1', 'run-2', 'run-3']) await writeFile(join(dir, 'runs', runId), 'x');
      const lease: Lease = { runId: 'run-1', owner: 'w', token: 1, expiresAt: Date.now() + 1000 };
      for (const [what, call] of writes(backend, lease)) await expectUnavailable(what, call, 'EEXIST', 'ENOTDIR');
      for (const [what, call] of [
        ['getHead', () => backend.getHead('run-1')],
        ['leaseRemainingMs', () => backend.leaseRemainingMs('run-1')],
        ['readEvents', () => backend.readEvents('run-1', 0)],
        ['getInput', () => backend.getInput('run-1', 'key')],
        ['releaseLease', () => backend.releaseLease(lease)],
      ] as const) {
        await expectUnavailable(what, call, 'ENOTDIR', 'EEXIST');
      }
      await expect(backend.acquireLease('run-3', 'w', 1000)).rejects.toThrow(`${join(dir, 'runs', 'run-3')} (EEXIST)`);
    } finally {
      await removeDir(dir);
    }
  });

  it('a store path too long for the file system is BackendUnavailableError (ENAMETOOLONG)', async () => {
    const dir = await makeTempDir();
    try {
      const backend = new FileBackend({ dir: join(dir, 'x'.repeat(300)) });
      await expectUnavailable('setup', () => backend.setup(), 'ENAMETOOLONG');
      await expect(backend.getHead('run-1')).rejects.toThrow(/ENAMETOOLONG\): the path is too long/);
    } finally {
      await removeDir(dir);
    }
  });

  it('a directory this user may not write is BackendUnavailableError (EACCES)', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; the read-only mount test above covers refused writes there.
      return;
    }
    const dir = await makeTempDir();
    try {
      const backend = new FileBackend({ dir });
      await backend.setup();
      await chmod(dir, 0o500);
      await chmod(join(dir, 'runs'), 0o500);
      await expectUnavailable('putHeader', () => backend.putHeader(makeHeader()), 'EACCES');
      await expectUnavailable('appendEvents', () => backend.appendEvents('run-1', [event]), 'EACCES');
      expect(await readdir(join(dir, 'runs'))).toEqual([]);
    } finally {
      await chmod(dir, 0o700);
      await mkdir(join(dir, 'runs'), { recursive: true });
      await chmod(join(dir, 'runs'), 0o700);
      await removeDir(dir);
    }
  });
});
