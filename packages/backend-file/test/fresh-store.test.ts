import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore } from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';

// Issue 8, defect 7: every method works from the first call on a fresh store, without anyone calling setup()
// (here the directory does not even exist yet).
describe('FileBackend on a fresh directory, setup() never called', () => {
  let parent: string;
  let backend: FileBackend;

  beforeEach(async () => {
    parent = await makeTempDir();
    backend = new FileBackend({ dir: join(parent, 'not', 'yet', 'there') });
  });
  afterEach(async () => {
    await removeDir(parent);
  });

  it.each<[string, (b: FileBackend) => Promise<unknown>, unknown]>([
    ['getHead', (b) => b.getHead('run-1'), null],
    ['getHeader', (b) => b.getHeader('01-none'), null],
    ['queryHeaders (global)', (b) => b.queryHeaders({}), []],
    ['queryHeaders (flow)', (b) => b.queryHeaders({ flowId: 'flow-a' }), []],
    ['queryHeaders (run)', (b) => b.queryHeaders({ runId: 'run-1' }), []],
    ['getBlobs', (b) => b.getBlobs('run-1', ['h1']).then((found) => found.size), 0],
    ['deleteBlobsExcept', (b) => b.deleteBlobsExcept('run-1', new Set()), 0],
    ['deleteHeaders', (b) => b.deleteHeaders(['01-none']), 0],
    ['putBlobs', (b) => b.putBlobs('run-1', [{ hash: 'h1', data: 'x' }]), undefined],
    ['putHeader', (b) => b.putHeader(makeHeader(), { expectedHead: null }), undefined],
    ['acquireLease', (b) => b.acquireLease('run-1', 'worker-a', 1000).then((lease) => lease?.token), 1],
    ['renewLease', (b) => b.renewLease({ runId: 'run-1', owner: 'w', token: 1, expiresAt: 0 }, 1000), null],
    ['releaseLease', (b) => b.releaseLease({ runId: 'run-1', owner: 'w', token: 1, expiresAt: 0 }), undefined],
    ['appendEvents', (b) => b.appendEvents('run-1', [{ type: 'run_started', data: '{}', ts: 1 }]).then((events) => events.map((e) => e.seq)), [1]],
    ['readEvents', (b) => b.readEvents('run-1', 0), []],
    ['putInput', (b) => b.putInput('run-1', { key: 'k1', nodePath: 'approve', value: 'true', createdAt: 1 }).then((r) => r.created), true],
    ['takeInputs', (b) => b.takeInputs('run-1', 'worker-a'), []],
    ['getInput', (b) => b.getInput('run-1', 'k1'), null],
  ])('%s answers as on an empty store', async (_, call, expected) => {
    expect(await call(backend)).toEqual(expected);
  });

  it('a CheckpointStore saves and loads through it from the first call', async () => {
    const store = new CheckpointStore(backend);
    const checkpoint = makeCheckpoint();
    await store.save(checkpoint, { expectedHead: null });
    expect((await store.load(checkpoint.id)).id).toBe(checkpoint.id);
    expect(await backend.getHead('run-1')).toBe(checkpoint.id);
  });
});
