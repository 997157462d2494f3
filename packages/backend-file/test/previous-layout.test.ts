import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore, type FlowCheckpoint } from '@savepoint/core';
import { FileBackend } from '../src/index.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';

// A store written by release 0.1.0, whose blobs are one file each (`blobs/<hash>`) and whose index links are hard
// links: test/fixtures/layout-0.1 (made by its generate.cjs). This release reads it, writes new blobs in packs next
// to it, and collects the old files like any blob.
const FIXTURE = join(__dirname, 'fixtures', 'layout-0.1');

/** A checkpoint as JSON text holds it (dates as ISO strings), to compare with the fixture's record. */
const asJson = (checkpoint: FlowCheckpoint): unknown => JSON.parse(JSON.stringify(checkpoint));

describe('FileBackend on a store of the previous layout', () => {
  let dir: string;
  let backend: FileBackend;
  let saved: Array<Record<string, unknown> & { id: string }>;
  const blobFiles = () => readdir(join(dir, 'runs', 'run-old', 'blobs'));

  beforeEach(async () => {
    dir = await makeTempDir();
    await cp(join(FIXTURE, 'store'), dir, { recursive: true });
    saved = JSON.parse(await readFile(join(FIXTURE, 'checkpoints.json'), 'utf8')) as typeof saved;
    backend = new FileBackend({ dir });
  });
  afterEach(async () => {
    await backend.close();
    await removeDir(dir);
  });

  it('loads, lists and finds the head of every checkpoint it holds', async () => {
    const store = new CheckpointStore(backend);
    for (const checkpoint of saved) expect(asJson(await store.load(checkpoint.id))).toEqual(checkpoint);
    expect((await store.listByRun('run-old')).map((summary) => summary.id)).toEqual(saved.map((checkpoint) => checkpoint.id).reverse());
    expect((await store.listByFlow('support-bot')).map((summary) => summary.id)).toEqual(saved.map((checkpoint) => checkpoint.id).reverse());
    expect(await backend.getHead('run-old')).toBe(saved[2]!.id);
  });

  it('keeps a blob stored as a file when it is put again, and writes only new blobs, in packs', async () => {
    const [hash] = await blobFiles();
    const before = await readFile(join(dir, 'runs', 'run-old', 'blobs', hash!), 'utf8');
    await backend.putBlobs('run-old', [{ hash: hash!, data: 'other bytes' }]);
    expect((await backend.getBlobs('run-old', [hash!])).get(hash!)).toBe(before);
    expect(await readdir(join(dir, 'runs', 'run-old'))).not.toContain('packs');

    const store = new CheckpointStore(backend);
    const head = await store.load(saved[2]!.id);
    const agent = head.nodeStates.agent!;
    const messages = [...(agent.internalState as { messages: unknown[] }).messages, { role: 'user', content: 'one more' }];
    const next: FlowCheckpoint = {
      ...head,
      id: '01946a1c-0000-7000-8000-000000000004',
      seq: 3,
      parentCheckpointId: head.id,
      nodeStates: { ...head.nodeStates, agent: { ...agent, internalState: { messages } } },
    };
    await store.save(next, { expectedHead: head.id });
    expect(await new CheckpointStore(new FileBackend({ dir })).load(next.id)).toEqual(next);
    expect(await blobFiles()).toHaveLength(17);
    const headerFile = await readFile(join(dir, 'runs', 'run-old', 'headers', `0000000000000003-${next.id}.json`), 'utf8');
    expect(headerFile).toContain('one more');
  });

  it('collects the blob files no remaining checkpoint references', async () => {
    const store = new CheckpointStore(backend);
    const before = await blobFiles();
    await store.delete(saved[0]!.id);
    await store.delete(saved[1]!.id);
    const after = await blobFiles();
    expect(after.length).toBeLessThan(before.length);
    expect(asJson(await new CheckpointStore(new FileBackend({ dir })).load(saved[2]!.id))).toEqual(saved[2]);
    await store.deleteRun('run-old');
    expect(await blobFiles()).toEqual([]);
  });
});
