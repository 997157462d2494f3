import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore } from '@savepoint/core';
import { makeCheckpoint } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { readPackIndex } from '../src/pack-file.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';

const run = promisify(execFile);
const history = (count: number, tag: string) => Array.from({ length: count }, (_, i) => ({ role: 'user', content: `${tag} ${i} `.padEnd(120, '.') }));

// Issue 10: a save's new blobs travel in its header file. A process killed between the fsync of that file (and of
// its index links) and the rename that commits it must leave the run exactly as it was: the head unmoved, the
// checkpoint nowhere, its blobs in no listing; and the same save can be made again.
describe('FileBackend killed at the commit point of a save', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('leaves the previous head and an orphan that nobody reads, and the save can be made again', async () => {
    const writer = new FileBackend({ dir });
    const store = new CheckpointStore(writer);
    const first = makeCheckpoint({ originalInput: { history: history(60, 'first') } });
    await store.save(first);
    const killed = makeCheckpoint({ seq: 1, parentCheckpointId: first.id, originalInput: { history: history(90, 'killed') } });

    const child = join(__dirname, 'support', 'kill-at-commit.ts');
    const register = join(__dirname, 'support', 'ts-register.cjs');
    const outcome = await run(process.execPath, ['-r', register, child, dir, JSON.stringify(killed)]).then(
      () => 'committed',
      (error: { signal?: string }) => error.signal,
    );
    expect(outcome).toBe('SIGKILL');

    // The dead process's staged header file holds the whole checkpoint, blobs included, fsynced: an orphan.
    const lockDir = join(dir, 'runs', 'run-1', 'lock');
    const [deadStage] = (await readdir(lockDir)).filter((name) => name.startsWith('stage-') && !name.startsWith(`stage-${process.pid}-`));
    const [staged] = await readdir(join(lockDir, deadStage!));
    const orphanHashes = readPackIndex(join(lockDir, deadStage!, staged!))!.map((entry) => entry.hash);
    expect(orphanHashes.length).toBeGreaterThan(0);

    const reader = new FileBackend({ dir });
    const after = new CheckpointStore(reader);
    expect(await reader.getHead('run-1')).toBe(first.id);
    expect(await reader.getHeader(killed.id)).toBeNull();
    expect((await after.listByFlow('flow-a')).map((summary) => summary.id)).toEqual([first.id]);
    expect(await reader.getBlobs('run-1', orphanHashes)).toEqual(new Map());
    expect(await after.load(first.id)).toEqual(first);

    // The same save again (a retry keeps the id): the dangling links are replaced, the dead stage destroyed.
    await after.save(killed, { expectedHead: first.id });
    expect(await new CheckpointStore(new FileBackend({ dir })).load(killed.id)).toEqual(killed);
    expect(await readdir(lockDir)).not.toContain(deadStage);
    await Promise.all([reader.close(), writer.close()]);
  });
});
