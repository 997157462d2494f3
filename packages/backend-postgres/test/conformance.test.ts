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
// Small, so the conformance suite's trimming test stays quick.
const maxEventsPerRun = 40;
const runtime = { events: true, inbox: true } as const;

/** Another "process" on the same tables: its own pool from the connection string, same schema and prefix. */
async function sibling(backend: PostgresBackend): Promise<PostgresBackend> {
  return fresh({ connectionString: DATABASE_URL, schema, tablePrefix: prefixes.get(backend)!, maxEventsPerRun });
}

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
    capabilities: { multiProcess: true, leases: true, ...runtime, notify: 'cross-process' },
    create: () => fresh({ connectionString: DATABASE_URL, schema, tablePrefix: nextPrefix(), maxEventsPerRun }),
    createSibling: sibling,
    maxEventsPerRun,
    corruptBlob,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned pg.Pool)',
    capabilities: { multiProcess: true, leases: true, ...runtime, notify: 'cross-process' },
    create: () => fresh({ pool, schema, tablePrefix: nextPrefix(), maxEventsPerRun }),
    // A second backend on the same pool: its LISTEN connection comes from that pool too.
    createSibling: async (backend) => fresh({ pool, schema, tablePrefix: prefixes.get(backend)!, maxEventsPerRun }),
    maxEventsPerRun,
    corruptBlob,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned Kysely instance)',
    // Kysely hides its connections, so there is nothing to LISTEN on: no notify.
    capabilities: { multiProcess: true, leases: true, ...runtime },
    create: () => fresh({ db: kysely, schema, tablePrefix: nextPrefix() }),
    createSibling: sibling,
    corruptBlob,
  });
});
