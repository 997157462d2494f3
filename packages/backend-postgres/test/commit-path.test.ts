// The save path of migrations 0004-0006: the commit function, how its arguments travel, and the schema under it.
import { afterAll, expect, it } from '@jest/globals';
import { CheckpointConflictError } from '@savepoint/core';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { PostgresBackend } from '../src/index.js';
import { migrations } from '../src/migrations/index.js';
import { migrate } from '../src/migrator.js';
import { tableNames } from '../src/table-names.js';
import { header } from './headers.js';
import { describePg, dropSchema, testPool, uniqueSchema } from './server.js';

const schema = uniqueSchema('commit');
const pool = testPool({ max: 6 });
const pools: pg.Pool[] = [];
let prefixes = 0;

/** A backend on tables of its own, over `on` (the shared pool unless given). */
async function backendOn(on: pg.Pool = pool): Promise<{ backend: PostgresBackend; prefix: string }> {
  const prefix = `c${++prefixes}_`;
  const backend = new PostgresBackend({ pool: on, schema, tablePrefix: prefix });
  await backend.setup();
  return { backend, prefix };
}

/** A pool of one connection, so that statements sent through it reach the backend's connection. */
function singleConnection(): pg.Pool {
  const single = testPool({ max: 1 });
  pools.push(single);
  return single;
}

afterAll(async () => {
  for (const single of pools) await single.end();
  await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
});

describePg('PostgresBackend commit path', () => {
  it('a commit of thousands of blobs is one statement: refused, it writes none of them', async () => {
    const { backend } = await backendOn();
    await backend.commitCheckpoint('run-1', [], header({ id: 'cp-0', runId: 'run-1', seq: 0 }), { expectedHead: null });
    const blobs = Array.from({ length: 2500 }, (_, i) => ({ hash: `h${i}`, data: `data ${i}` }));
    const stale = header({ id: 'cp-1', runId: 'run-1', seq: 1 });
    await expect(backend.commitCheckpoint('run-1', blobs, stale, { expectedHead: 'not-the-head' })).rejects.toThrow(CheckpointConflictError);
    expect((await backend.getBlobs('run-1', blobs.map((blob) => blob.hash))).size).toBe(0);
    await backend.commitCheckpoint('run-1', blobs, stale, { expectedHead: 'cp-0' });
    expect((await backend.getBlobs('run-1', blobs.map((blob) => blob.hash))).size).toBe(2500);
  });

  it('sends blob data of any text byte for byte: quotes, backslashes, braces, commas, NULL, empty, non-ASCII', async () => {
    const { backend } = await backendOn();
    const texts = ['"quoted" \\ back\\slash', '{brace},comma', 'NULL', '', 'é ü ß 日本語 😀', '\\x00 \n\t\r', "'single'"];
    const blobs = texts.map((data, i) => ({ hash: `h${i}`, data }));
    await backend.commitCheckpoint('run-1', blobs.slice(0, 4), header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { expectedHead: null });
    await backend.putBlobs('run-1', blobs.slice(4));
    expect(await backend.getBlobs('run-1', blobs.map((blob) => blob.hash))).toEqual(new Map(blobs.map((blob) => [blob.hash, blob.data])));
  });

  it('the compare-and-set on the head leaves it in place for a lower seq, as the head is the highest seq written', async () => {
    const { backend } = await backendOn();
    await backend.putHeader(header({ id: 'cp-5', runId: 'run-1', seq: 5 }), { expectedHead: null });
    await backend.putHeader(header({ id: 'cp-3', runId: 'run-1', seq: 3 }), { expectedHead: 'cp-5' });
    expect(await backend.getHead('run-1')).toBe('cp-5');
    await backend.putHeader(header({ id: 'cp-6', runId: 'run-1', seq: 6 }), { expectedHead: 'cp-5' });
    expect(await backend.getHead('run-1')).toBe('cp-6');
    await expect(backend.putHeader(header({ id: 'cp-7', runId: 'run-1', seq: 7 }), { expectedHead: 'cp-5' })).rejects.toThrow(
      /its head is cp-6, not cp-5/,
    );
  });

  it('concurrent writers of shared blobs, given in opposite orders, never deadlock', async () => {
    const { backend } = await backendOn();
    const blobs = Array.from({ length: 3000 }, (_, i) => ({ hash: `h${String(i).padStart(5, '0')}`, data: 'x'.repeat(200) }));
    const reversed = [...blobs].reverse();
    for (let round = 0; round < 3; round += 1) {
      const runId = `run-${round}`;
      await Promise.all([backend.putBlobs(runId, blobs), backend.putBlobs(runId, reversed), backend.putBlobs(runId, blobs)]);
      expect((await backend.getBlobs(runId, [blobs[0]!.hash, blobs[2999]!.hash])).size).toBe(2);
    }
  });

  it('a server that lost the prepared commit statement (DEALLOCATE, a pooler) gets the call unprepared', async () => {
    const single = singleConnection();
    const { backend } = await backendOn(single);
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { expectedHead: null });
    await single.query('DEALLOCATE ALL');
    await backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 2 }), { expectedHead: 'cp-1' });
    await backend.putHeader(header({ id: 'cp-3', runId: 'run-1', seq: 3 }), { expectedHead: 'cp-2' });
    expect(await backend.getHead('run-1')).toBe('cp-3');
  });

  it('a connection where the statement name is taken (a pooler mixing sessions) gets the call unprepared', async () => {
    const single = singleConnection();
    const prefix = `c${++prefixes}_`;
    await single.query(`PREPARE ${tableNames(schema, prefix, `${prefix}migrations`).commitStatement} AS SELECT 1`);
    const backend = new PostgresBackend({ pool: single, schema, tablePrefix: prefix });
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }), { expectedHead: null });
    expect(await backend.getHead('run-1')).toBe('cp-1');
  });

  it('stores blobs lz4-compressed when the server has lz4', async () => {
    const { prefix } = await backendOn();
    const lz4 = await pool.query('CREATE TEMP TABLE lz4_probe (x text COMPRESSION lz4)').then(
      () => true,
      () => false,
    );
    const { rows } = await pool.query(
      `SELECT attcompression AS method FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'data'`,
      [`"${schema}"."${prefix}blobs"`],
    );
    expect(rows[0].method).toBe(lz4 ? 'l' : '');
  });

  it('reads what the previous release wrote, and its runs go on', async () => {
    const upgraded = uniqueSchema('upgrade');
    const t = tableNames(upgraded, 'savepoint_', 'savepoint_migrations');
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: testPool({ max: 1 }) }) });
    try {
      // The schema of the previous release, written by its commit function (0003): blobs sorted by the server, pglz.
      expect(await migrate(db, t, migrations.slice(0, 3))).toEqual(['0001-initial-schema', '0002-event-log-and-inbox', '0003-commit-checkpoint-function']);
      const big = 'y'.repeat(64 * 1024);
      await pool.query(
        `SELECT "${upgraded}".savepoint_commit_checkpoint('cp-1', 'flow-1', NULL, 'run-1', 1, NULL, 'active', NULL, false, 1, 1, '{}',
          ARRAY['hb', 'ha'], ARRAY[$1, 'small'], true, NULL, NULL, NULL)`,
        [big],
      );
      const backend = new PostgresBackend({ pool, schema: upgraded });
      expect(await backend.getHeader('cp-1')).toEqual(header({ id: 'cp-1', runId: 'run-1', seq: 1, createdAt: 1, updatedAt: 1 }));
      expect(await backend.getBlobs('run-1', ['ha', 'hb'])).toEqual(new Map([['ha', 'small'], ['hb', big]]));
      await backend.commitCheckpoint('run-1', [{ hash: 'hc', data: big + 'z' }, { hash: 'ha', data: 'ignored' }], header({ id: 'cp-2', runId: 'run-1', seq: 2 }), {
        expectedHead: 'cp-1',
      });
      expect(await backend.getHead('run-1')).toBe('cp-2');
      expect(await backend.getBlobs('run-1', ['ha', 'hb', 'hc'])).toEqual(new Map([['ha', 'small'], ['hb', big], ['hc', big + 'z']]));
      expect(await backend.queryHeaders({ statuses: ['active'], order: 'asc' })).toEqual([
        header({ id: 'cp-1', runId: 'run-1', seq: 1, createdAt: 1, updatedAt: 1 }),
        header({ id: 'cp-2', runId: 'run-1', seq: 2 }),
      ]);
    } finally {
      await db.destroy();
      await dropSchema(pool, upgraded);
    }
  });
});
