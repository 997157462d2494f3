import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { BackendUnavailableError, InvalidArgumentError, type ChangeMessage } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { tempDir } from './temp-dir.js';

// What the conformance suite cannot see: the rows behind the event log and the inbox, and how a busy
// database is reported.
const event = (i: number) => ({ type: 'stream_chunk', data: JSON.stringify({ i }), ts: 1000 + i });

describe('SqliteBackend event log and inbox', () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  let backend: SqliteBackend;

  beforeEach(async () => {
    dir = tempDir();
    path = join(dir.path, 'runtime.db');
    backend = new SqliteBackend({ path, maxEventsPerRun: 3 });
    await backend.setup();
  });
  afterEach(async () => {
    await backend.close();
    dir.remove();
  });

  it('validates maxEventsPerRun and defaults it to 10 000', () => {
    expect(new SqliteBackend({ path: ':memory:' }).maxEventsPerRun).toBe(10_000);
    expect(() => new SqliteBackend({ path: ':memory:', maxEventsPerRun: -3 })).toThrow(InvalidArgumentError);
  });

  it('deletes the rows of trimmed events', async () => {
    await backend.appendEvents('run-1', [event(1), event(2)]);
    await backend.appendEvents('run-1', [event(3), event(4), event(5)]);
    await backend.appendEvents('run-2', [event(1)]);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT run_id, seq FROM savepoint_events ORDER BY run_id, seq').raw().all()).toEqual([
      ['run-1', 3],
      ['run-1', 4],
      ['run-1', 5],
      ['run-2', 1],
    ]);
    raw.close();
  });

  it('records the consumer and time of each taken input in its row', async () => {
    await backend.putInput('run-1', { key: 'k1', nodePath: 'approve', value: 'true', createdAt: 5 });
    const before = Date.now();
    await backend.takeInputs('run-1', 'worker-a');
    const raw = new Database(path, { readonly: true });
    const row = raw.prepare('SELECT consumed_by, consumed_at FROM savepoint_inputs WHERE run_id = ? AND key = ?').get('run-1', 'k1') as {
      consumed_by: string;
      consumed_at: number;
    };
    raw.close();
    expect(row.consumed_by).toBe('worker-a');
    expect(row.consumed_at).toBeGreaterThanOrEqual(before);
  });

  it('reports a write lock held past the busy timeout as unavailable, and takes nothing', async () => {
    const impatient = new SqliteBackend({ path, busyTimeoutMs: 0 });
    await impatient.setup();
    await backend.putInput('run-1', { key: 'k1', nodePath: 'approve', value: 'true', createdAt: 5 });
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    try {
      await expect(impatient.appendEvents('run-1', [event(1)])).rejects.toThrow(BackendUnavailableError);
      await expect(impatient.takeInputs('run-1', 'worker-a')).rejects.toThrow(/SQLITE_BUSY/);
      await expect(impatient.putInput('run-1', { key: 'k2', nodePath: 'p', value: '1', createdAt: 6 })).rejects.toThrow(/SQLITE_BUSY/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      await impatient.close();
    }
    expect(await backend.readEvents('run-1', 0)).toEqual([]);
    expect((await backend.takeInputs('run-1', 'worker-b')).map((input) => input.key)).toEqual(['k1']);
  });

  it('notifies subscribers of this instance only: another connection polls', async () => {
    const other = new SqliteBackend({ path });
    const here: ChangeMessage[] = [];
    const there: ChangeMessage[] = [];
    await backend.subscribe('*', (m) => here.push(m));
    await other.subscribe('*', (m) => there.push(m));
    await backend.publish({ runId: 'run-1', kind: 'event', seq: 1 });
    expect(here).toEqual([{ runId: 'run-1', kind: 'event', seq: 1 }]);
    expect(there).toEqual([]);
    await other.close();
  });
});
