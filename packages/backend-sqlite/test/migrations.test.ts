import { describe, it, expect } from '@jest/globals';
import Database from 'better-sqlite3';
import { BackendUnavailableError } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { migrations } from '../src/migrations/index.js';
import { migrate } from '../src/migrator.js';
import { tableNames } from '../src/table-names.js';
import { header } from './headers.js';

const tablesOf = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

describe('migrations', () => {
  it('run once, are recorded, and a second setup (or a second backend) changes nothing', async () => {
    const db = new Database(':memory:');
    const first = new SqliteBackend({ db });
    await first.setup();
    await first.setup();
    await first.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    await new SqliteBackend({ db }).setup();

    const recorded = db.prepare('SELECT name FROM savepoint_migrations').pluck().all();
    expect(recorded).toEqual(migrations.map((m) => m.name));
    expect(tablesOf(db)).toEqual([
      'savepoint_blobs',
      'savepoint_events',
      'savepoint_headers',
      'savepoint_inputs',
      'savepoint_leases',
      'savepoint_migrations',
    ]);
    // Data written before the second setup is still there.
    expect(await first.getHead('run-1')).toBe('cp-1');
    db.close();
  });

  it('honour a custom migration table and table prefix, side by side with the defaults', async () => {
    const db = new Database(':memory:');
    const custom = new SqliteBackend({ db, tablePrefix: 'app_sp_', migrationTable: 'app_schema_versions' });
    const standard = new SqliteBackend({ db });
    await custom.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));

    expect(tablesOf(db)).toEqual([
      'app_schema_versions',
      'app_sp_blobs',
      'app_sp_events',
      'app_sp_headers',
      'app_sp_inputs',
      'app_sp_leases',
    ]);
    expect(db.prepare('SELECT count(*) FROM app_schema_versions').pluck().get()).toBe(migrations.length);
    expect(await standard.getHead('run-1')).toBeNull();
    expect(await custom.getHead('run-1')).toBe('cp-1');
    db.close();
  });

  it('are tracked per table prefix by default, so two prefixes in one database each get their tables', async () => {
    const db = new Database(':memory:');
    await new SqliteBackend({ db }).setup();
    const tenantA = new SqliteBackend({ db, tablePrefix: 'tenant_a_' });
    await tenantA.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));

    expect(tablesOf(db)).toEqual(expect.arrayContaining(['tenant_a_headers', 'tenant_a_migrations', 'savepoint_migrations']));
    expect(await tenantA.getHead('run-1')).toBe('cp-1');
    db.close();
  });

  it('create an index for every header query', async () => {
    const db = new Database(':memory:');
    await new SqliteBackend({ db }).setup();
    const plan = (where: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM savepoint_headers WHERE ${where}`).all(...(where.includes('?') ? ['x'] : [])) as Array<{ detail: string }>)
        .map((row) => row.detail)
        .join('\n');

    expect(plan('flow_id = ? ORDER BY id DESC')).toMatch(/USING INDEX savepoint_headers_flow/);
    expect(plan('run_id = ? ORDER BY seq DESC')).toMatch(/USING INDEX savepoint_headers_run_seq/);
    expect(plan('status = ?')).toMatch(/USING INDEX savepoint_headers_status/);
    expect(plan('tenant_id = ?')).toMatch(/USING INDEX savepoint_headers_tenant/);
    expect(plan('pending_input = 1 ORDER BY id DESC')).toMatch(/USING (COVERING )?INDEX savepoint_headers_pending_input/);
    // retention: finished statuses created before a cutoff
    expect(plan("status IN ('completed', 'failed') AND created_at < ?")).toMatch(/USING INDEX savepoint_headers_status/);
    db.close();
  });

  it('0002 brings a database created by 0001 up to date, keeping its checkpoints', async () => {
    const db = new Database(':memory:');
    expect(migrate(db, tableNames('savepoint_', 'savepoint_migrations'), migrations.slice(0, 1), 0)).toEqual(['0001-initial-schema']);
    db.prepare(
      `INSERT INTO savepoint_headers (id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body)
       VALUES ('cp-1', 'flow-1', NULL, 'run-1', 0, NULL, 'active', NULL, 0, 1, 1, '{}')`,
    ).run();
    db.prepare(`INSERT INTO savepoint_heads (run_id, checkpoint_id, seq) VALUES ('run-1', 'cp-1', 0)`).run();

    const upgraded = new SqliteBackend({ db });
    await upgraded.setup();
    expect(db.prepare('SELECT name FROM savepoint_migrations ORDER BY name').pluck().all()).toEqual([
      '0001-initial-schema',
      '0002-event-log-and-inbox',
      '0003-lean-header-indexes',
    ]);
    expect(await upgraded.getHead('run-1')).toBe('cp-1');
    expect((await upgraded.appendEvents('run-1', [{ type: 'run_resumed', data: '{}', ts: 2 }]))[0]!.seq).toBe(1);
    expect((await upgraded.putInput('run-1', { key: 'k', nodePath: 'p', value: '1', createdAt: 2 })).created).toBe(true);
    db.close();
  });

  it('0003 drops the heads table and keeps every run head, tenant and pending-input query of a 0002 database', async () => {
    const db = new Database(':memory:');
    migrate(db, tableNames('savepoint_', 'savepoint_migrations'), migrations.slice(0, 2), 0);
    const insert = db.prepare(
      `INSERT INTO savepoint_headers (id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body)
       VALUES (?, 'flow-1', NULL, ?, ?, NULL, ?, ?, ?, 1, 1, '{}')`,
    );
    insert.run('cp-a1', 'run-a', 1, 'active', 'acme', 0);
    insert.run('cp-a2', 'run-a', 2, 'pending_input', 'acme', 1);
    insert.run('cp-b1', 'run-b', 1, 'completed', null, 0);
    db.prepare(`INSERT INTO savepoint_heads (run_id, checkpoint_id, seq) VALUES ('run-a', 'cp-a2', 2), ('run-b', 'cp-b1', 1)`).run();

    const upgraded = new SqliteBackend({ db });
    await upgraded.setup();
    expect(tablesOf(db)).not.toContain('savepoint_heads');
    expect(await upgraded.getHead('run-a')).toBe('cp-a2');
    expect(await upgraded.getHead('run-b')).toBe('cp-b1');
    expect((await upgraded.queryHeaders({ tenantId: 'acme' })).map((h) => h.id)).toEqual(['cp-a2', 'cp-a1']);
    expect((await upgraded.queryHeaders({ tenantId: null })).map((h) => h.id)).toEqual(['cp-b1']);
    expect((await upgraded.queryHeaders({ pendingInput: true })).map((h) => h.id)).toEqual(['cp-a2']);
    expect((await upgraded.queryHeaders({ pendingInput: false })).map((h) => h.id)).toEqual(['cp-b1', 'cp-a1']);
    // the head moves on with the next write and falls back after a delete
    await upgraded.putHeader(header({ id: 'cp-a3', runId: 'run-a', seq: 3 }), { expectedHead: 'cp-a2' });
    expect(await upgraded.getHead('run-a')).toBe('cp-a3');
    await upgraded.deleteHeaders(['cp-a3']);
    expect(await upgraded.getHead('run-a')).toBe('cp-a2');
    db.close();
  });

  it('index the event log and the inbox by their keys', async () => {
    const db = new Database(':memory:');
    await new SqliteBackend({ db }).setup();
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('x', 1) as Array<{ detail: string }>).map((row) => row.detail).join('\n');
    expect(plan('SELECT * FROM savepoint_events WHERE run_id = ? AND seq > ? ORDER BY seq')).toMatch(/USING INDEX sqlite_autoindex_savepoint_events_1/);
    expect(plan('SELECT * FROM savepoint_inputs WHERE run_id = ? AND key = ?')).toMatch(/USING INDEX sqlite_autoindex_savepoint_inputs_1/);
    db.close();
  });

  it('refuse a database migrated by a newer release', async () => {
    const db = new Database(':memory:');
    await new SqliteBackend({ db }).setup();
    db.prepare('INSERT INTO savepoint_migrations (name, applied_at) VALUES (?, ?)').run('9999-from-the-future', 0);

    const older = new SqliteBackend({ db });
    await expect(older.setup()).rejects.toThrow(BackendUnavailableError);
    await expect(older.setup()).rejects.toThrow(/9999-from-the-future.*upgrade/);
    db.close();
  });
});
