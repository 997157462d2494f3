import { readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CheckpointConflictError, CheckpointStore } from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import type { FileBackend } from '../src/index.js';
import { currentBootId } from '../src/head-pointer.js';
import { makeBackend, removeDir } from './support/temp-dir.js';

// HEAD is a cache of the highest seq in headers/ (written unsynced where a boot id exists): whatever a crash
// leaves in it, the run head comes from the committed headers.
describe('FileBackend HEAD recovery', () => {
  let backend: FileBackend;
  let runDir: string;

  beforeEach(async () => {
    backend = await makeBackend();
    runDir = join(backend.dir, 'runs', 'run-1');
  });

  afterEach(async () => {
    await removeDir(backend.dir);
  });

  async function twoHeaders() {
    const first = makeHeader({ seq: 0 });
    const second = makeHeader({ seq: 1, parentCheckpointId: first.id });
    await backend.putHeader(first, { expectedHead: null });
    await backend.putHeader(second, { expectedHead: first.id });
    return { first, second };
  }

  const lostHeads: Array<[string, (first: { id: string }) => Promise<void>]> = [
    ['stamped by an earlier boot', (first) => writeFile(join(runDir, 'HEAD'), JSON.stringify({ id: first.id, seq: 0, boot: 'earlier-boot' }))],
    ['missing', () => unlink(join(runDir, 'HEAD'))],
    ['torn', () => writeFile(join(runDir, 'HEAD'), '{"id": "01')],
    ['not a pointer', () => writeFile(join(runDir, 'HEAD'), 'null')],
    [
      // a reader racing an in-place rewrite can see new bytes followed by old ones: valid JSON, wrong checksum
      'mixing two writes',
      async (first) => {
        const head = JSON.parse(await readFile(join(runDir, 'HEAD'), 'utf8')) as Record<string, unknown>;
        await writeFile(join(runDir, 'HEAD'), JSON.stringify({ ...head, id: first.id }));
      },
    ],
  ];

  it.each(lostHeads)('ignores a HEAD %s and takes the head from the committed headers', async (_, damage) => {
    const { first, second } = await twoHeaders();
    await damage(first);
    expect(await backend.getHead('run-1')).toBe(second.id);
    await expect(backend.putHeader(makeHeader({ seq: 2 }), { expectedHead: first.id })).rejects.toThrow(CheckpointConflictError);
    const third = makeHeader({ seq: 2, parentCheckpointId: second.id });
    await backend.putHeader(third, { expectedHead: second.id });
    expect(JSON.parse(await readFile(join(runDir, 'HEAD'), 'utf8'))).toMatchObject({ id: third.id, seq: 2 });
  });

  it('rewrites a stale HEAD even when the new header is not the highest', async () => {
    const { first, second } = await twoHeaders();
    await writeFile(join(runDir, 'HEAD'), JSON.stringify({ id: first.id, seq: 0, boot: 'earlier-boot' }));
    await backend.putHeader(makeHeader({ seq: 1, id: '00-low' }));
    expect(JSON.parse(await readFile(join(runDir, 'HEAD'), 'utf8'))).toMatchObject({ id: second.id, seq: 1 });
  });

  it('rebuilds a stale HEAD when headers are deleted, and drops it when none remain', async () => {
    const { first, second } = await twoHeaders();
    await writeFile(join(runDir, 'HEAD'), 'garbage');
    await backend.deleteHeaders([first.id]);
    expect(JSON.parse(await readFile(join(runDir, 'HEAD'), 'utf8'))).toMatchObject({ id: second.id });
    await backend.deleteHeaders([second.id]);
    expect(await backend.getHead('run-1')).toBeNull();
    await expect(readFile(join(runDir, 'HEAD'), 'utf8')).rejects.toThrow();
  });

  it('stamps an unsynced HEAD with the boot id where the platform has one', async () => {
    const { second } = await twoHeaders();
    const boot = currentBootId();
    const stored = JSON.parse(await readFile(join(runDir, 'HEAD'), 'utf8')) as Record<string, unknown>;
    expect(stored).toEqual(boot === null ? { id: second.id, seq: 1 } : { id: second.id, seq: 1, boot, sum: expect.any(String) });
  });

  it('without a boot id, writes HEAD durably and unstamped', async () => {
    await jest.isolateModulesAsync(async () => {
      jest.doMock('../src/head-pointer.js', () => ({
        ...jest.requireActual<typeof import('../src/head-pointer.js')>('../src/head-pointer.js'),
        currentBootId: () => null,
      }));
      const { FileBackend: Isolated } = await import('../src/index.js');
      const durable = new Isolated({ dir: backend.dir });
      const header = makeHeader({ runId: 'run-2' });
      await durable.putHeader(header);
      expect(JSON.parse(await readFile(join(backend.dir, 'runs', 'run-2', 'HEAD'), 'utf8'))).toEqual({ id: header.id, seq: 0 });
      expect(await durable.getHead('run-2')).toBe(header.id);
    });
  });

  it('on recovery keeps the temp files of live writers and removes those of dead ones', async () => {
    await twoHeaders();
    const headersDir = join(runDir, 'headers');
    const live = `.0000000000000009-x.json.${process.pid}.0123456789ab.tmp`;
    const dead = `.0000000000000009-y.json.${2 ** 22 + 54321}.0123456789ab.tmp`;
    await writeFile(join(headersDir, live), 'in flight');
    await writeFile(join(headersDir, dead), 'abandoned');
    await writeFile(join(runDir, 'HEAD.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, createdAt: Date.now(), nonce: 'dead' }));
    await backend.putHeader(makeHeader({ seq: 2 }));
    const names = await readdir(headersDir);
    expect(names).toContain(live);
    expect(names).not.toContain(dead);
  });

  it('recreates directories removed while the backend is in use', async () => {
    const store = new CheckpointStore(backend);
    const root = makeCheckpoint({ originalInput: { text: 'x'.repeat(1000) } });
    await store.save(root);
    await rm(runDir, { recursive: true });
    await rm(join(backend.dir, 'ids'), { recursive: true });
    const again = makeCheckpoint({ originalInput: { text: 'y'.repeat(1000) } });
    await store.save(again, { expectedHead: null });
    expect((await store.load(again.id)).originalInput).toEqual({ text: 'y'.repeat(1000) });
  });
});
