import { afterAll } from '@jest/globals';
import { runConformanceSuite } from '@savepoint/conformance';
import { Kysely, PostgresDialect } from 'kysely';
import { PostgresBackend } from '../src/index.js';
import { DATABASE_URL, describePg, dropSchema, testPool, uniqueSchema } from './server.js';

// One schema for this file, dropped at the end; each test gets its own table prefix inside it.
const schema = uniqueSchema('conformance');
const pool = testPool({ max: 4 });
const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool: testPool({ max: 4 }) }) });
let tests = 0;
const prefixes = new WeakMap<PostgresBackend, string>();

async function fresh(options: ConstructorParameters<typeof PostgresBackend>[0]): Promise<PostgresBackend> {
  const backend = new PostgresBackend(options);
  await backend.setup();
  prefixes.set(backend, options.tablePrefix!);
  return backend;
}

const nextPrefix = () => `t${++tests}_`;

async function corruptBlob(backend: PostgresBackend, runId: string, hash: string): Promise<void> {
  // Below the adapter API, through another connection: a torn write seen by every process.
  await pool.query(
    `UPDATE "${schema}"."${prefixes.get(backend)}blobs" SET data = substr(data, 1, length(data) / 2) WHERE run_id = $1 AND hash = $2`,
    [runId, hash],
  );
}

afterAll(async () => {
  await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
  await kysely.destroy();
});

describePg('PostgresBackend', () => {
  runConformanceSuite({
    name: 'postgres (connection string, own pool)',
    capabilities: { multiProcess: true, leases: true },
    create: () => fresh({ connectionString: DATABASE_URL, schema, tablePrefix: nextPrefix() }),
    corruptBlob,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned pg.Pool)',
    capabilities: { multiProcess: true, leases: true },
    create: () => fresh({ pool, schema, tablePrefix: nextPrefix() }),
    corruptBlob,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned Kysely instance)',
    capabilities: { multiProcess: true, leases: true },
    create: () => fresh({ db: kysely, schema, tablePrefix: nextPrefix() }),
    corruptBlob,
  });
});
