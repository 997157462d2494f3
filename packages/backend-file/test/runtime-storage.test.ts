import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CorruptCheckpointError, InvalidArgumentError, type ChangeMessage } from '@savepoint/core';
import { FileBackend } from '../src/index.js';
import { DEAD_PID, plantLock } from './support/lock-files.js';
import { makeBackend, removeDir } from './support/temp-dir.js';

// What the conformance suite cannot see: the files behind the event log and the inbox, and what a crash or
// a damaged disk leaves in them.
const event = (i: number) => ({ type: 'stream_chunk', data: JSON.stringify({ i }), ts: 1000 + i });

describe('FileBackend event log and inbox on disk', () => {
  let backend: FileBackend;
  let runDir: string;

  beforeEach(async () => {
    backend = await makeBackend({ maxEventsPerRun: 5 });
    runDir = join(backend.dir, 'runs', 'run-1');
  });
  afterEach(async () => {
    await removeDir(backend.dir);
  });

  it('validates maxEventsPerRun and defaults it to 10 000', () => {
    expect(new FileBackend({ dir: backend.dir }).maxEventsPerRun).toBe(10_000);
    expect(() => new FileBackend({ dir: backend.dir, maxEventsPerRun: 0 })).toThrow(InvalidArgumentError);
  });

  it('writes one NDJSON segment per append, named by its seqs, and removes segments older than the window', async () => {
    await backend.appendEvents('run-1', [event(1), event(2)]);
    await backend.appendEvents('run-1', [event(3)]);
    const eventsDir = join(runDir, 'events');
    expect(await readdir(eventsDir)).toEqual(['0000000000000001-0000000000000002.ndjson', '0000000000000003-0000000000000003.ndjson']);
    const lines = (await readFile(join(eventsDir, '0000000000000001-0000000000000002.ndjson'), 'utf8')).split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ seq: 1, ...event(1) });
    // Seqs 1..7, window of 5: the first segment (1-2) is entirely older; 3 and 4-7 stay, 3 being skipped on read.
    await backend.appendEvents('run-1', [event(4), event(5), event(6), event(7)]);
    expect(await readdir(eventsDir)).toEqual(['0000000000000003-0000000000000003.ndjson', '0000000000000004-0000000000000007.ndjson']);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    await backend.appendEvents('run-1', [event(8)]);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
  });

  it('ignores a torn segment a crashed appender left in its lock stage, which the next appender destroys', async () => {
    await backend.appendEvents('run-1', [event(1)]);
    const stage = await plantLock(runDir, { pid: DEAD_PID, gen: 2 });
    await writeFile(join(stage, 'segment'), '{"seq":2,"ty');
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([1]);
    expect((await backend.appendEvents('run-1', [event(2)]))[0]!.seq).toBe(2);
    // The crashed appender's stage is gone; the backend keeps its own, empty, until close().
    const stages = async () => (await readdir(join(runDir, 'lock'))).filter((name) => name.startsWith('stage-'));
    expect(await stages()).toEqual([expect.stringMatching(new RegExp(`^stage-${process.pid}-`))]);
    await backend.close();
    expect(await stages()).toEqual([]);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('reports a damaged segment naming the file; appends go on, and deleting it drops only its events', async () => {
    await backend.appendEvents('run-1', [event(1)]);
    await backend.appendEvents('run-1', [event(2), event(3)]);
    const damaged = join(runDir, 'events', '0000000000000002-0000000000000003.ndjson');
    const damages = [
      '{"seq":2,"type":"stream_chunk","da',
      `${JSON.stringify({ seq: 2, ...event(2) })}\n`,
      `${JSON.stringify({ seq: 2, ...event(2) })}\n${JSON.stringify({ seq: 4, ...event(3) })}\n`,
      `${JSON.stringify({ seq: 2, ...event(2) })}\nnull\n`,
      `${JSON.stringify({ seq: 2, ...event(2) })}\n{"seq":3}\n`,
    ];
    for (const text of damages) {
      await writeFile(damaged, text);
      await expect(backend.readEvents('run-1', 0)).rejects.toThrow(CorruptCheckpointError);
      await expect(backend.readEvents('run-1', 0)).rejects.toThrow(/0000000000000002-0000000000000003\.ndjson is damaged/);
    }
    expect((await backend.readEvents('run-1', 3)).map((e) => e.seq)).toEqual([]);
    expect((await backend.appendEvents('run-1', [event(4)]))[0]!.seq).toBe(4);
    await unlink(damaged);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([1, 4]);
  });

  it('keeps inputs as inbox/<key>.json and consumed ones under inbox/consumed/, never removing the first', async () => {
    await backend.putInput('run-1', { key: 'key-1', nodePath: 'approve', value: 'true', createdAt: 1 });
    const [taken] = await backend.takeInputs('run-1', 'worker-a');
    expect((await readdir(join(runDir, 'inbox'))).sort()).toEqual(['consumed', 'key-1.json']);
    expect(JSON.parse(await readFile(join(runDir, 'inbox', 'consumed', 'key-1.json'), 'utf8'))).toEqual(taken);
    expect(JSON.parse(await readFile(join(runDir, 'inbox', 'key-1.json'), 'utf8'))).toMatchObject({ consumedBy: null });
    expect(await backend.takeInputs('run-1', 'worker-b')).toEqual([]);
  });

  it('reports a damaged inbox record naming the file', async () => {
    await backend.putInput('run-1', { key: 'key-1', nodePath: 'approve', value: 'true', createdAt: 1 });
    for (const text of ['{"key": "key-1", "val', '{"key": "key-1"}']) {
      await writeFile(join(runDir, 'inbox', 'key-1.json'), text);
      await expect(backend.getInput('run-1', 'key-1')).rejects.toThrow(CorruptCheckpointError);
      await expect(backend.takeInputs('run-1', 'worker-a')).rejects.toThrow(/inbox\/key-1\.json is damaged/);
    }
  });

  it('notifies subscribers of this instance only: another instance on the directory polls', async () => {
    const other = new FileBackend({ dir: backend.dir });
    const here: ChangeMessage[] = [];
    const there: ChangeMessage[] = [];
    await backend.subscribe('run-1', (m) => here.push(m));
    await other.subscribe('run-1', (m) => there.push(m));
    await backend.publish({ runId: 'run-1', kind: 'input' });
    expect(here).toEqual([{ runId: 'run-1', kind: 'input' }]);
    expect(there).toEqual([]);
  });
});
