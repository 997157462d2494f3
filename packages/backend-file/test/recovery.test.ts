import { link, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore, type HeaderRecord } from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import { serializeHeader } from '../src/header-file.js';
import type { FileBackend } from '../src/index.js';
import { DEAD_PID, plantLock } from './support/lock-files.js';
import { stallPublish } from './support/stall.js';
import { makeBackend, removeDir } from './support/temp-dir.js';

// Issue 8, defect 2: after a SIGKILL, getHead() pointed one checkpoint behind the newest committed one until the
// next writer repaired it. The head is now the highest seq in headers/, read from the listing itself: a
// commit is the one rename that makes its header appear there, so there is nothing to lag behind.
describe('FileBackend run head after a crash', () => {
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

  async function newestListed(): Promise<string | undefined> {
    return (await backend.queryHeaders({ runId: 'run-1', limit: 1 }))[0]?.id;
  }

  it('names the newest committed header when its writer was killed right after committing it', async () => {
    const { second } = await twoHeaders();
    // What a writer SIGKILLed just after its commit rename leaves: the header in headers/ with its index links,
    // its lock generation and stage, and nothing else updated.
    const third: HeaderRecord = makeHeader({ seq: 2, parentCheckpointId: second.id });
    const headerPath = join(runDir, 'headers', `0000000000000002-${third.id}.json`);
    await writeFile(headerPath, serializeHeader(third));
    await link(headerPath, join(backend.dir, 'ids', third.id));
    await plantLock(runDir, { pid: DEAD_PID, gen: 5 });

    expect(await backend.getHead('run-1')).toBe(third.id);
    expect(await newestListed()).toBe(third.id);
    expect(await backend.getHeader(third.id)).toEqual(third);
    const fourth = makeHeader({ seq: 3, parentCheckpointId: third.id });
    await backend.putHeader(fourth, { expectedHead: third.id });
    expect(await backend.getHead('run-1')).toBe(fourth.id);
  });

  it('never answers a head behind a header a reader already listed, while the writer is between steps', async () => {
    const { second } = await twoHeaders();
    const third = makeHeader({ seq: 2, parentCheckpointId: second.id });
    const stall = stallPublish(/headers\/\d{16}-/, { after: true });
    const writing = backend.putHeader(third, { expectedHead: second.id });
    await stall.reached;
    try {
      expect(await newestListed()).toBe(third.id);
      expect(await backend.getHead('run-1')).toBe(third.id);
    } finally {
      stall.resume();
      await writing;
    }
  });

  it('moves the head down to the highest remaining header when the head is deleted, and to none after the last', async () => {
    const { first, second } = await twoHeaders();
    await backend.deleteHeaders([second.id]);
    expect(await backend.getHead('run-1')).toBe(first.id);
    await backend.deleteHeaders([first.id]);
    expect(await backend.getHead('run-1')).toBeNull();
  });

  it('on recovery keeps the temp files of live writers and removes those of dead ones', async () => {
    await twoHeaders();
    const headersDir = join(runDir, 'headers');
    const live = `.0000000000000009-x.json.${process.pid}.0123456789ab.tmp`;
    const dead = `.0000000000000009-y.json.${DEAD_PID}.0123456789ab.tmp`;
    await writeFile(join(headersDir, live), 'in flight');
    await writeFile(join(headersDir, dead), 'abandoned');
    await plantLock(runDir, { pid: DEAD_PID + 1, gen: 3 });
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
