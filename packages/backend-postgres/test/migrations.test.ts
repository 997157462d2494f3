import { afterAll, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, InvalidArgumentError } from '@savepoint/core';
import { Kysely, PostgresDialect } from 'kysely';
import { PostgresBackend } from '../src/index.js';
import { migrations } from '../src/migrations/index.js';
import { migrate } from '../src/migrator.js';
import { headerQuery } from '../src/header-query.js';
import { tableNames } from '../src/table-names.js';
import { header } from './headers.js';
import { DATABASE_URL, describePg, dropSchema, testPool, uniqueSchema } from './server.js';

const pool = testPool();
// Only compiles queries (never connects through this instance).
const kyselyCompiler = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
const schemas: string[] = [];
const schemaFor = (tag: string) => {
  const schema = uniqueSchema(tag);
  schemas.push(schema);
  return schema;
};

const tablesOf = async (schema: string) =>
  (await pool.query('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema])).rows.map((r) => r.tablename);

afterAll(async () => {
  for (const schema of schemas) await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
});

describePg('migrations', () => {
  it('create the schema, run once, are recorded, and a second setup (or a second backend) changes nothing', async () => {
    const schema = schemaFor('once');
    const first = new PostgresBackend({ pool, schema });
    await first.setup();
    await first.setup();
    await first.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    const second = new PostgresBackend({ pool, schema });
    await second.setup();

    const recorded = await pool.query(`SELECT name, applied_at FROM "${schema}".savepoint_migrations ORDER BY name`);
    expect(recorded.rows.map((row) => row.name)).toEqual(migrations.map((m) => m.name));
    expect(recorded.rows[0].applied_at).toBeInstanceOf(Date);
    expect(await tablesOf(schema)).toEqual([
      'savepoint_blobs',
      'savepoint_event_seqs',
      'savepoint_events',
      'savepoint_headers',
      'savepoint_heads',
      'savepoint_inputs',
      'savepoint_leases',
      'savepoint_migrations',
    ]);
    expect(await second.getHead('run-1')).toBe('cp-1');
    await Promise.all([first.close(), second.close()]);
  });

  it('two processes running setup() at once on a fresh schema both succeed (advisory lock)', async () => {
    const schema = schemaFor('race');
    // Separate pools, as separate processes would have: the setups really run concurrently on the server.
    const backends = Array.from({ length: 4 }, () => new PostgresBackend({ connectionString: DATABASE_URL, schema }));
    const results = await Promise.allSettled(backends.map((backend) => backend.setup()));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const recorded = await pool.query(`SELECT name FROM "${schema}".savepoint_migrations`);
    expect(recorded.rows.map((row) => row.name)).toEqual(migrations.map((m) => m.name));
    await Promise.all(backends.map((backend) => backend.close()));
  });

  it('different prefixes creating the same fresh schema at once all succeed', async () => {
    const schema = schemaFor('prefixes');
    const backends = ['a_', 'b_', 'c_'].map((tablePrefix) => new PostgresBackend({ connectionString: DATABASE_URL, schema, tablePrefix }));
    await Promise.all(backends.map((backend) => backend.setup()));
    expect(await tablesOf(schema)).toEqual(
      expect.arrayContaining(['a_headers', 'a_migrations', 'b_headers', 'b_migrations', 'c_headers', 'c_migrations']),
    );
    await Promise.all(backends.map((backend) => backend.close()));
  });

  it('honour a custom migration table (in the schema) and table prefix, side by side with the defaults', async () => {
    const schema = schemaFor('custom');
    const custom = new PostgresBackend({ pool, schema, tablePrefix: 'App_', migrationTable: 'app_schema_versions' });
    const standard = new PostgresBackend({ pool, schema });
    await custom.setup();
    await standard.setup();
    await custom.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));

    expect(await tablesOf(schema)).toEqual([
      'App_blobs',
      'App_event_seqs',
      'App_events',
      'App_headers',
      'App_heads',
      'App_inputs',
      'App_leases',
      'app_schema_versions',
      'savepoint_blobs',
      'savepoint_event_seqs',
      'savepoint_events',
      'savepoint_headers',
      'savepoint_heads',
      'savepoint_inputs',
      'savepoint_leases',
      'savepoint_migrations',
    ]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".app_schema_versions`)).rows[0].n).toBe(migrations.length);
    expect(await standard.getHead('run-1')).toBeNull();
    expect(await custom.getHead('run-1')).toBe('cp-1');
  });

  it('bring a schema of the previous release up to date, keeping its data', async () => {
    const schema = schemaFor('upgrade');
    const t = tableNames(schema, 'savepoint_', 'savepoint_migrations');
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: testPool({ max: 1 }) }) });
    try {
      expect(await migrate(db, t, migrations.slice(0, 1))).toEqual(['0001-initial-schema']);
    } finally {
      await db.destroy();
    }
    // What the previous release wrote (its own code, not this one's, which needs the newer function).
    await pool.query(`INSERT INTO "${schema}".savepoint_headers (id, flow_id, run_id, seq, status, pending_input, created_at, updated_at, body)
      VALUES ('cp-1', 'flow-1', 'run-1', 1, 'active', false, 1, 1, '{}')`);
    await pool.query(`INSERT INTO "${schema}".savepoint_heads (run_id, checkpoint_id, seq) VALUES ('run-1', 'cp-1', 1)`);

    const upgraded = new PostgresBackend({ pool, schema });
    await upgraded.setup();
    expect(await upgraded.getHead('run-1')).toBe('cp-1');
    expect((await upgraded.appendEvents('run-1', [{ type: 'run_started', data: '{}', ts: 1 }]))[0]!.seq).toBe(1);
    expect((await upgraded.putInput('run-1', { key: 'k', nodePath: 'a', value: 'true', createdAt: 1 })).created).toBe(true);
    const recorded = await pool.query(`SELECT name FROM "${schema}".savepoint_migrations ORDER BY name`);
    expect(recorded.rows.map((row) => row.name)).toEqual(migrations.map((m) => m.name));
    await upgraded.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 2 }), { expectedHead: 'cp-1' });
    expect(await upgraded.getHead('run-1')).toBe('cp-2');
  });

  it('refuse a schema migrated by a newer release', async () => {
    const schema = schemaFor('newer');
    await new PostgresBackend({ pool, schema }).setup();
    await pool.query(`INSERT INTO "${schema}".savepoint_migrations (name) VALUES ('9999-from-the-future')`);

    const older = new PostgresBackend({ pool, schema });
    await expect(older.setup()).rejects.toThrow(BackendUnavailableError);
    // A failed setup is not cached: the next call tries again (and fails the same way).
    await expect(older.setup()).rejects.toThrow(/9999-from-the-future.*upgrade/);
  });

  it('a role that may use the tables but not create any works once an administrator migrated the schema', async () => {
    const schema = schemaFor('limited');
    const role = `sp_limited_${process.pid}`;
    await new PostgresBackend({ pool, schema }).setup();
    await pool.query(`DROP ROLE IF EXISTS ${role}`);
    // A password, so the role logs in also where the server asks for one (scram), as on a fresh install.
    await pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${role}'`);
    try {
      await pool.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
      await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
      await pool.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role}`);
      const url = new URL(DATABASE_URL);
      url.username = role;
      url.password = role;
      const limited = new PostgresBackend({ connectionString: url.toString(), schema });
      try {
        await limited.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
        expect(await limited.getHead('run-1')).toBe('cp-1');
      } finally {
        await limited.close();
      }
    } finally {
      // Dropping the schema takes the role's grants with it; DROP OWNED BY would need membership in the role,
      // which a test user with only CREATEROLE (CI's) does not have.
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await pool.query(`DROP ROLE ${role}`);
    }
  });

  it('create an index for every header query the store makes', async () => {
    const schema = schemaFor('indexes');
    await new PostgresBackend({ pool, schema }).setup();
    const t = tableNames(schema, 'savepoint_', 'savepoint_migrations');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // On an empty table the planner would rightly scan it; forbid that to see which index serves each shape.
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_bitmapscan = off');
      const plan = async (query: Parameters<typeof headerQuery>[1]) => {
        const compiled = headerQuery(t.sql.headers, query).compile(kyselyCompiler);
        const { rows } = await client.query(`EXPLAIN ${compiled.sql}`, [...compiled.parameters]);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      };
      expect(await plan({ flowId: 'f', order: 'desc', limit: 10 })).toMatch(/savepoint_headers_flow/);
      expect(await plan({ runId: 'r', order: 'desc', limit: 500 })).toMatch(/savepoint_headers_run_seq/);
      expect(await plan({ runId: 'r', beforeSeq: 3 })).toMatch(/savepoint_headers_run_seq/);
      // Retention's sweep: finished runs created before the cutoff.
      const finished = ['completed', 'failed', 'canceled'] as const;
      expect(await plan({ statuses: [...finished], createdBefore: 1000, order: 'desc', limit: 500 })).toMatch(/savepoint_headers_created_at/);
      expect(await plan({ flowId: 'f', statuses: [...finished], createdBefore: 1000, order: 'desc', limit: 500 })).toMatch(
        /savepoint_headers_(flow|created_at)/,
      );
      expect(await plan({ tenantId: 'acme', limit: 10 })).toMatch(/savepoint_headers_tenant/);
      expect(await plan({ pendingInput: true, order: 'desc', limit: 500 })).toMatch(/savepoint_headers_pending_input/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('reject names that are not plain identifiers', () => {
    expect(() => new PostgresBackend({ pool, schema: 'bad-schema' })).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend({ pool, tablePrefix: 'x"; DROP TABLE y; --' })).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend({ pool, tablePrefix: 'p'.repeat(43) })).toThrow(/at most 42/);
    expect(() => new PostgresBackend({ pool, migrationTable: '1st' })).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend({ pool, tablePrefix: 'p'.repeat(42) })).not.toThrow();
  });
});

describe('PostgresBackend options', () => {
  it('need a connection string, a pool or a Kysely instance', () => {
    expect(() => new PostgresBackend({} as never)).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend({ connectionString: '' })).toThrow(InvalidArgumentError);
    expect(() => new PostgresBackend({ pool: {} as never })).toThrow(/pg.Pool/);
    expect(() => new PostgresBackend({ db: {} as never })).toThrow(/Kysely/);
    expect(() => new PostgresBackend({ connectionString: DATABASE_URL, connectionTimeoutMillis: 0 })).toThrow(/connectionTimeoutMillis/);
  });
});
