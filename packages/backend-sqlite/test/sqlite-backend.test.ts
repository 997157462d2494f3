import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  BackendUnavailableError,
  CheckpointConflictError,
  InvalidArgumentError,
  LeaseLostError,
  RunLockedError,
} from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { header } from './headers.js';
import { tempDir } from './temp-dir.js';

describe('SqliteBackend', () => {
  let backend: SqliteBackend;

  beforeEach(async () => {
    backend = new SqliteBackend({ path: ':memory:' });
    await backend.setup();
  });
  afterEach(async () => {
    await backend.close();
  });

  it('declares itself multi-process with storage-enforced leases, an event log, an inbox and in-process notification', () => {
    expect(backend.name).toBe('sqlite');
    expect(backend.capabilities).toEqual({ multiProcess: true, leases: true, events: true, inbox: true, notify: 'in-process' });
  });

  describe('options', () => {
    it.each([
      [{ path: ':memory:', tablePrefix: 'sp; DROP TABLE x' }, /tablePrefix/],
      [{ path: ':memory:', tablePrefix: '1abc' }, /tablePrefix/],
      [{ path: ':memory:', migrationTable: 'bad-name' }, /migrationTable/],
      [{ path: ':memory:', synchronous: 'OFF' }, /synchronous/],
      [{ path: ':memory:', busyTimeoutMs: -1 }, /busyTimeoutMs/],
      [{ path: '' }, /needs \{ path \}/],
      [{}, /needs \{ path \}/],
    ])('refuses %j', (options, message) => {
      expect(() => new SqliteBackend(options as never)).toThrow(InvalidArgumentError);
      expect(() => new SqliteBackend(options as never)).toThrow(message);
    });

    it('creates the parent directories of a database path', async () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'nested', 'deeper', 'savepoint.db');
        const onDisk = new SqliteBackend({ path, synchronous: 'FULL' });
        await onDisk.setup();
        expect(existsSync(path)).toBe(true);
        await onDisk.close();
      } finally {
        dir.remove();
      }
    });
  });

  describe('blobs', () => {
    it('stores blobs per run, ignores a hash already stored and returns only what exists', async () => {
      await backend.putBlobs('run-1', [
        { hash: 'h1', data: 'one' },
        { hash: 'h2', data: 'two' },
      ]);
      await backend.putBlobs('run-1', [{ hash: 'h1', data: 'other' }]);
      await backend.putBlobs('run-1', []);
      await backend.putBlobs('run-2', [{ hash: 'h1', data: 'run two' }]);

      const found = await backend.getBlobs('run-1', ['h1', 'h2', 'missing']);
      expect([...found]).toEqual([
        ['h1', 'one'],
        ['h2', 'two'],
      ]);
      expect((await backend.getBlobs('run-2', ['h1', 'h2'])).get('h1')).toBe('run two');
    });

    it('deletes the blobs of a run that are not kept, and no other run', async () => {
      await backend.putBlobs('run-1', ['a', 'b', 'c'].map((hash) => ({ hash, data: hash })));
      await backend.putBlobs('run-2', [{ hash: 'a', data: 'a' }]);

      expect(await backend.deleteBlobsExcept('run-1', new Set(['b']))).toBe(2);
      expect([...(await backend.getBlobs('run-1', ['a', 'b', 'c'])).keys()]).toEqual(['b']);
      expect((await backend.getBlobs('run-2', ['a'])).size).toBe(1);
      expect(await backend.deleteBlobsExcept('run-1', new Set(['b']))).toBe(0);
    });
  });

  describe('headers', () => {
    it('round-trips every field of a header', async () => {
      const record = header({
        id: 'cp-1',
        runId: 'run-1',
        seq: 0,
        workflowId: 'wf',
        parentCheckpointId: 'cp-0',
        status: 'pending_input',
        tenantId: 'tenant-a',
        pendingInput: true,
        body: '{"nodes":{}}',
      });
      await backend.putHeader(record);
      expect(await backend.getHeader('cp-1')).toEqual(record);
      expect(await backend.getHeader('nope')).toBeNull();
    });

    it('moves the head to the highest seq only', async () => {
      expect(await backend.getHead('run-1')).toBeNull();
      await backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 2 }));
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
      expect(await backend.getHead('run-1')).toBe('cp-2');
      await backend.putHeader(header({ id: 'cp-3', runId: 'run-1', seq: 3 }));
      expect(await backend.getHead('run-1')).toBe('cp-3');
    });

    it('compares and sets the run head', async () => {
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { expectedHead: null });
      await expect(
        backend.putHeader(header({ id: 'cp-x', runId: 'run-1', seq: 2 }), { expectedHead: null }),
      ).rejects.toThrow(CheckpointConflictError);
      await expect(
        backend.putHeader(header({ id: 'cp-y', runId: 'run-1', seq: 2 }), { expectedHead: 'cp-0' }),
      ).rejects.toThrow(/head is cp-1, not cp-0/);
      await backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 2 }), { expectedHead: 'cp-1' });

      expect(await backend.getHead('run-1')).toBe('cp-2');
      // A refused write leaves nothing behind.
      expect(await backend.getHeader('cp-x')).toBeNull();
    });

    it('refuses a duplicate id or a seq already used in the run', async () => {
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
      await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-2', seq: 1 }))).rejects.toThrow(
        /cp-1 already exists/,
      );
      await expect(backend.putHeader(header({ id: 'cp-9', runId: 'run-1', seq: 1 }))).rejects.toThrow(
        CheckpointConflictError,
      );
      expect(await backend.getHead('run-2')).toBeNull();
    });

    it('rejects a record the schema cannot hold and stores nothing of it', async () => {
      const broken = { ...header({ id: 'cp-1', runId: 'run-1', seq: 1 }), body: null as unknown as string };
      await expect(backend.putHeader(broken)).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
      expect(await backend.getHead('run-1')).toBeNull();
    });

    it('falls back to the previous head when the head is deleted', async () => {
      for (const seq of [1, 2, 3]) await backend.putHeader(header({ id: `cp-${seq}`, runId: 'run-1', seq }));
      await backend.putHeader(header({ id: 'other', runId: 'run-2', seq: 1 }));

      expect(await backend.deleteHeaders(['cp-3', 'unknown'])).toBe(1);
      expect(await backend.getHead('run-1')).toBe('cp-2');
      expect(await backend.deleteHeaders(['cp-1', 'cp-2'])).toBe(2);
      expect(await backend.getHead('run-1')).toBeNull();
      expect(await backend.deleteHeaders([])).toBe(0);
      expect(await backend.getHead('run-2')).toBe('other');
      // An emptied run can start again from "no head".
      await backend.putHeader(header({ id: 'cp-4', runId: 'run-1', seq: 4 }), { expectedHead: null });
    });
  });

  describe('queryHeaders', () => {
    beforeEach(async () => {
      const rows = [
        header({ id: 'a1', runId: 'run-a', seq: 1, flowId: 'f1', tenantId: 't1' }),
        header({ id: 'a2', runId: 'run-a', seq: 2, flowId: 'f1', tenantId: 't1', status: 'pending_input', pendingInput: true }),
        header({ id: 'b1', runId: 'run-b', seq: 1, flowId: 'f1', status: 'completed' }),
        header({ id: 'c1', runId: 'run-c', seq: 5, flowId: 'f2', tenantId: 't2', status: 'failed' }),
        header({ id: 'c2', runId: 'run-c', seq: 3, flowId: 'f2', tenantId: 't2', status: 'pending_input', pendingInput: true }),
      ];
      for (const row of rows) await backend.putHeader(row);
    });
    const ids = async (query: Parameters<SqliteBackend['queryHeaders']>[0]) =>
      (await backend.queryHeaders(query)).map((h) => h.id);

    it('orders a run by seq and everything else by id, newest first unless asked', async () => {
      expect(await ids({ runId: 'run-c' })).toEqual(['c1', 'c2']);
      expect(await ids({ runId: 'run-c', order: 'asc' })).toEqual(['c2', 'c1']);
      expect(await ids({})).toEqual(['c2', 'c1', 'b1', 'a2', 'a1']);
      expect(await ids({ flowId: 'f1', order: 'asc', limit: 2 })).toEqual(['a1', 'a2']);
    });

    it('ANDs every filter', async () => {
      expect(await ids({ statuses: ['pending_input', 'failed'] })).toEqual(['c2', 'c1', 'a2']);
      expect(await ids({ statuses: [] })).toEqual([]);
      expect(await ids({ tenantId: null })).toEqual(['b1']);
      expect(await ids({ tenantId: 't1' })).toEqual(['a2', 'a1']);
      expect(await ids({ pendingInput: true, flowId: 'f2' })).toEqual(['c2']);
      expect(await ids({ pendingInput: false })).toEqual(['c1', 'b1', 'a1']);
      expect(await ids({ runId: 'run-c', beforeSeq: 5 })).toEqual(['c2']);
      expect(await ids({ flowId: 'f1', beforeId: 'b1' })).toEqual(['a2', 'a1']);
      expect(await ids({ createdBefore: 1_002 })).toEqual(['b1', 'a1']);
      expect(await ids({ limit: 0 })).toEqual([]);
    });

    it('binds values, so a filter value is never read as SQL', async () => {
      expect(await ids({ flowId: "f1' OR '1'='1" })).toEqual([]);
    });
  });

  describe('leases', () => {
    it('gives a run to one owner at a time', async () => {
      const lease = await backend.acquireLease('run-1', 'alice', 60_000);
      expect(lease).toMatchObject({ runId: 'run-1', owner: 'alice', token: 1 });
      expect(await backend.acquireLease('run-1', 'bob', 60_000)).toBeNull();
      // The holder may acquire again without changing hands.
      expect((await backend.acquireLease('run-1', 'alice', 60_000))?.token).toBe(1);
    });

    it('keeps the token increasing across release and re-acquire', async () => {
      const first = (await backend.acquireLease('run-1', 'alice', 60_000))!;
      await backend.releaseLease(first);
      const second = (await backend.acquireLease('run-1', 'alice', 60_000))!;
      expect(second.token).toBe(2);
      await backend.releaseLease(second);
      expect((await backend.acquireLease('run-1', 'bob', 60_000))?.token).toBe(3);
    });

    it('lets another owner take over an expired lease and fences the old holder', async () => {
      const stale = (await backend.acquireLease('run-1', 'alice', 0))!;
      const fresh = (await backend.acquireLease('run-1', 'bob', 60_000))!;
      expect(fresh.token).toBe(stale.token + 1);

      await expect(
        backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { lease: stale }),
      ).rejects.toThrow(LeaseLostError);
      expect(await backend.renewLease(stale, 60_000)).toBeNull();
      await backend.releaseLease(stale);
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { lease: fresh });
      expect(await backend.getHead('run-1')).toBe('cp-1');
    });

    it('refuses a write without the lease while someone holds it, and accepts it after release', async () => {
      const lease = (await backend.acquireLease('run-1', 'alice', 60_000))!;
      await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }))).rejects.toThrow(RunLockedError);
      await backend.releaseLease(lease);
      await expect(
        backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { lease }),
      ).rejects.toThrow(LeaseLostError);
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    });

    it('renews a held lease and refuses to renew a released one', async () => {
      const lease = (await backend.acquireLease('run-1', 'alice', 0))!;
      const renewed = (await backend.renewLease(lease, 60_000))!;
      expect(renewed.token).toBe(lease.token);
      expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);
      expect(await backend.acquireLease('run-1', 'bob', 60_000)).toBeNull();
      await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { lease: renewed });

      await backend.releaseLease(renewed);
      expect(await backend.renewLease(renewed, 60_000)).toBeNull();
      expect(await backend.renewLease({ ...renewed, runId: 'never-leased' }, 60_000)).toBeNull();
    });
  });

  describe('connections', () => {
    it('does not close a Database the caller passed in', async () => {
      const db = new Database(':memory:');
      const borrowed = new SqliteBackend({ db });
      await borrowed.putBlobs('run-1', [{ hash: 'h', data: 'd' }]);
      await borrowed.close();
      await borrowed.close();

      expect(db.open).toBe(true);
      expect(db.prepare('SELECT data FROM savepoint_blobs').pluck().get()).toBe('d');
      db.close();
    });

    it('refuses to work once closed, with a typed error', async () => {
      await backend.close();
      await expect(backend.getHead('run-1')).rejects.toThrow(BackendUnavailableError);
      await expect(backend.getHead('run-1')).rejects.toThrow(/closed; create a new one/);
    });

    it('reports a connection the caller closed as unavailable', async () => {
      const db = new Database(':memory:');
      const borrowed = new SqliteBackend({ db });
      await borrowed.setup();
      db.close();
      await expect(borrowed.getHeader('cp-1')).rejects.toThrow(BackendUnavailableError);
    });

    it('reports a path it cannot open as unavailable, with what to check', async () => {
      const dir = tempDir();
      try {
        const unopenable = new SqliteBackend({ path: dir.path });
        await expect(unopenable.setup()).rejects.toThrow(BackendUnavailableError);
        const failure = await unopenable.setup().catch((error: unknown) => error);
        expect(failure).toMatchObject({ message: expect.stringMatching(/SQLITE_CANTOPEN.*check that the path exists/), location: dir.path });
        // The path is a property, not part of the message an error body or a log line might show.
        expect((failure as Error).message).not.toContain(dir.path);
      } finally {
        dir.remove();
      }
    });

    it('reports a file that is not a database as unavailable', async () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'not-a.db');
        writeFileSync(path, 'x'.repeat(4096));
        await expect(new SqliteBackend({ path }).setup()).rejects.toThrow(/SQLITE_NOTADB.*not a SQLite database/);
      } finally {
        dir.remove();
      }
    });
  });
});
