import fs from 'node:fs';
import { link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { CheckpointStore, CorruptCheckpointError, type BlobRecord } from '@savepoint/core';
import { makeCheckpoint, makeHeader, recordBlobWrites } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { readPackIndex } from '../src/pack-file.js';
import { packFiles } from './support/packs.js';
import { backendPerTest, makeBackend, removeDir } from './support/temp-dir.js';

const blobs = (...names: string[]): BlobRecord[] => names.map((name) => ({ hash: name, data: `data of ${name}` }));
const messages = (count: number, tag = 'm') => Array.from({ length: count }, (_, i) => ({ role: 'user', content: `${tag} ${i} `.padEnd(150, '.') }));

// Issue 10: the blobs of one save are written into one file (the header's own, after the header), fsynced once,
// instead of one file with its own fsync each; garbage collection rewrites or drops packs.
describe('FileBackend packs', () => {
  const current = backendPerTest();
  const packsListing = async () => (await readdir(join(current.runDir, 'packs')).catch(() => [])).sort();

  it('makes the same four fsyncs for a save of one new blob as for one of hundreds', async () => {
    const { backend } = current;
    const store = new CheckpointStore(backend);
    const first = makeCheckpoint({ originalInput: { messages: messages(3) } });
    await store.save(first);
    const fsyncs = jest.spyOn(fs, 'fsyncSync');
    const pooled = jest.spyOn(fs, 'fsync');
    const countOneSave = async (originalInput: unknown, seq: number, parent: string) => {
      fsyncs.mockClear();
      pooled.mockClear();
      const recorded = recordBlobWrites(backend);
      const checkpoint = makeCheckpoint({ seq, parentCheckpointId: parent, originalInput });
      await new CheckpointStore(recorded.adapter).save(checkpoint, { expectedHead: parent });
      return { fsyncs: fsyncs.mock.calls.length + pooled.mock.calls.length, blobs: recorded.writes.flatMap((write) => write.blobs).length, id: checkpoint.id };
    };
    try {
      const small = await countOneSave({ one: 'small change' }, 1, first.id);
      const large = await countOneSave({ messages: messages(2000, 'new') }, 2, small.id);
      expect(large.blobs).toBeGreaterThan(50 * small.blobs);
      // The header file (with the blobs), `ids/` and `flows/<flowId>/`, then `headers/` after the commit.
      expect([small.fsyncs, large.fsyncs]).toEqual([4, 4]);
    } finally {
      fsyncs.mockRestore();
      pooled.mockRestore();
    }
  });

  it('writes a header saved without new blobs as a plain header, and putBlobs as a pack of its own', async () => {
    const { backend, runDir } = current;
    const header = makeHeader();
    await backend.putHeader(header);
    expect(readPackIndex(join(runDir, 'headers', `0000000000000000-${header.id}.json`))).toBeNull();
    await backend.putBlobs('run-1', blobs('h1', 'h2'));
    await backend.putBlobs('run-1', blobs('h2', 'h1'));
    const packs = await packsListing();
    expect(packs).toHaveLength(1);
    expect(readPackIndex(join(runDir, 'packs', packs[0]!))!.map((entry) => entry.hash)).toEqual(['h1', 'h2']);
    expect(await backend.getBlobs('run-1', ['h1', 'h2'])).toEqual(new Map([['h1', 'data of h1'], ['h2', 'data of h2']]));
  });

  it('drops a pack whose blobs all go and compacts one that keeps some', async () => {
    const { backend, runDir } = current;
    await backend.putBlobs('run-1', blobs('a1', 'a2'));
    await backend.putBlobs('run-1', blobs('b1', 'b2', 'b3'));
    const [packA, packB] = await packsListing();
    expect(await backend.deleteBlobsExcept('run-1', new Set(['b2']))).toBe(4);
    const after = await packsListing();
    expect(after).toHaveLength(1);
    expect(after).not.toContain(packA);
    expect(after).not.toContain(packB);
    expect(readPackIndex(join(runDir, 'packs', after[0]!))!.map((entry) => entry.hash)).toEqual(['b2']);
    expect(await backend.getBlobs('run-1', ['a1', 'a2', 'b1', 'b2', 'b3'])).toEqual(new Map([['b2', 'data of b2']]));
    expect(await backend.deleteBlobsExcept('run-1', new Set(['b2']))).toBe(0);
  });

  it('drops the blobs of a live header file with a marker, and keeps the header readable', async () => {
    const { backend } = current;
    const header = makeHeader();
    await backend.commitCheckpoint('run-1', blobs('k1', 'd1'), header, { expectedHead: null });
    expect(await backend.deleteBlobsExcept('run-1', new Set(['k1']))).toBe(1);
    const headerName = `0000000000000000-${header.id}.json`;
    const packs = await packsListing();
    expect(packs).toContain(`${headerName}.dropped`);
    expect(await backend.getBlobs('run-1', ['k1', 'd1'])).toEqual(new Map([['k1', 'data of k1']]));
    expect(await backend.getHeader(header.id)).toEqual(header);
    // A blob dropped from a live header's file can be stored again, and is read from its new pack.
    await backend.putBlobs('run-1', [{ hash: 'd1', data: 'stored again' }]);
    expect((await backend.getBlobs('run-1', ['d1'])).get('d1')).toBe('stored again');
    await backend.deleteHeaders([header.id]);
    expect(await packsListing()).not.toContain(`${headerName}.dropped`);
  });

  it('keeps the blobs of a deleted checkpoint that a later checkpoint still references', async () => {
    const { backend, runDir } = current;
    const store = new CheckpointStore(backend);
    const history = messages(200);
    const first = makeCheckpoint({ originalInput: { history } });
    const second = makeCheckpoint({ seq: 1, parentCheckpointId: first.id, originalInput: { history, more: 'x' } });
    await store.save(first);
    await store.save(second);
    await store.delete(first.id);
    expect(await new CheckpointStore(new FileBackend({ dir: backend.dir })).load(second.id)).toEqual(second);
    // The deleted header's file lives on in packs/ only for the blobs still referenced; the rest were collected.
    const [pack] = await packsListing();
    expect(readPackIndex(join(runDir, 'packs', pack!))!.length).toBeGreaterThan(0);
    await store.delete(second.id);
    expect(await packsListing()).toEqual([]);
  });

  it('reads blobs another instance compacted, and never one it deleted from a pack it removed', async () => {
    const { backend } = current;
    const other = new FileBackend({ dir: backend.dir });
    await backend.putBlobs('run-1', blobs('h1', 'h2', 'h3'));
    expect((await other.getBlobs('run-1', ['h1', 'h2', 'h3'])).size).toBe(3);
    expect(await backend.deleteBlobsExcept('run-1', new Set(['h2']))).toBe(2);
    expect(await other.getBlobs('run-1', ['h1', 'h2'])).toEqual(new Map([['h2', 'data of h2']]));
    await backend.putBlobs('run-1', blobs('h4'));
    expect(await other.getBlobs('run-1', ['h4'])).toEqual(new Map([['h4', 'data of h4']]));
    await other.close();
  });

  it('ignores a torn file in packs/: its blobs are stored again, and garbage collection removes it', async () => {
    const { backend, runDir } = current;
    const recorded = recordBlobWrites(backend);
    const store = new CheckpointStore(recorded.adapter);
    const committed = makeCheckpoint({ originalInput: { history: messages(50) } });
    await store.save(committed);
    // What a crash could leave on a file system that does not order data before names: a pack cut short that
    // claims the blobs the next save needs (here, a copy of the next save's file cut within its index).
    const probe = await makeBackend();
    const next = makeCheckpoint({ seq: 1, parentCheckpointId: committed.id, originalInput: { history: messages(80, 'next') } });
    await new CheckpointStore(probe).save({ ...next, parentCheckpointId: null, seq: 0 });
    const [probeFile] = await packFiles(probe.dir, 'run-1');
    const text = await readFile(probeFile!);
    const torn = join(runDir, 'packs', '0000000000000001-0123456789ab.pack');
    await mkdir(join(runDir, 'packs'));
    await writeFile(torn, text.subarray(0, text.length - 10));
    await removeDir(probe.dir);

    await store.save(next, { expectedHead: committed.id });
    const fresh = new CheckpointStore(new FileBackend({ dir: backend.dir }));
    expect(await fresh.load(next.id)).toEqual(next);
    expect(await fresh.load(committed.id)).toEqual(committed);
    const written = new Set(recorded.writes.flatMap((write) => write.blobs.map((blob) => blob.hash)));
    expect(await backend.deleteBlobsExcept('run-1', written)).toBe(0);
    expect(await packsListing()).toEqual([]);
    expect(await fresh.load(next.id)).toEqual(next);
  });

  it('reads an index link to an empty file (bytes a crash did not let reach the disk) as no checkpoint', async () => {
    const { backend, runDir } = current;
    const header = makeHeader();
    await backend.putHeader(header);
    // A writer that crashed after linking its header file and before the file's fsync reached the disk.
    const unwritten = { id: '01-unwritten', flowId: 'flow-a' };
    await writeFile(join(runDir, 'lock', 'unwritten'), '');
    await link(join(runDir, 'lock', 'unwritten'), join(backend.dir, 'ids', unwritten.id));
    await link(join(runDir, 'lock', 'unwritten'), join(backend.dir, 'flows', 'flow-a', unwritten.id));
    expect(await backend.getHeader(unwritten.id)).toBeNull();
    expect((await backend.queryHeaders({ flowId: 'flow-a' })).map((row) => row.id)).toEqual([header.id]);
    const again = makeHeader({ id: unwritten.id, seq: 1 });
    await backend.putHeader(again);
    expect(await backend.getHeader(unwritten.id)).toEqual(again);
    // Bytes that are there but are not a header are damage, and say so.
    await writeFile(join(backend.dir, 'ids', '01-damaged'), '{"id": "01-dam');
    await expect(backend.getHeader('01-damaged')).rejects.toThrow(CorruptCheckpointError);
  });
});
