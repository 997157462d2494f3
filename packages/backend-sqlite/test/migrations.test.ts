import { describe, it, expect } from '@jest/globals';
import Database from 'better-sqlite3';
import { BackendUnavailableError } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { migrations } from '../src/migrations/index.js';
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
      'savepoint_headers',
      'savepoint_heads',
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

    expect(tablesOf(db)).toEqual(['app_schema_versions', 'app_sp_blobs', 'app_sp_headers', 'app_sp_heads', 'app_sp_leases']);
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
      (db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM savepoint_headers WHERE ${where}`).all('x') as Array<{ detail: string }>)
        .map((row) => row.detail)
        .join('\n');

    expect(plan('flow_id = ? ORDER BY id DESC')).toMatch(/USING INDEX savepoint_headers_flow/);
    expect(plan('run_id = ? ORDER BY seq DESC')).toMatch(/USING INDEX savepoint_headers_run_seq/);
    expect(plan('status = ?')).toMatch(/USING INDEX savepoint_headers_status/);
    expect(plan('tenant_id = ?')).toMatch(/USING INDEX savepoint_headers_tenant/);
    expect(plan('pending_input = ?')).toMatch(/USING INDEX savepoint_headers_pending_input/);
    expect(plan('created_at < ?')).toMatch(/USING INDEX savepoint_headers_created_at/);
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
