import { afterAll } from '@jest/globals';
import { runConformanceSuite } from '@savepoint/conformance';
import { dumpPostgresTables } from '@savepoint/test-servers';
import { Kysely, PostgresDialect } from 'kysely';
import { PostgresBackend } from '../src/index.js';
import { DATABASE_URL, describePg, dropPrefix, dropSchema, testPool, uniqueSchema } from './server.js';

// One schema for this file, dropped at the end; each test gets its own table prefix inside it. Fresh-store
// tests get a schema of their own too, so their first call also creates the schema.
const schema = uniqueSchema('conformance');
const freshSchemas: string[] = [];
const pool = testPool({ max: 4 });
const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool: testPool({ max: 4 }) }) });
let tests = 0;
const homes = new WeakMap<PostgresBackend, { schema: string; prefix: string }>();

type Options = ConstructorParameters<typeof PostgresBackend>[0];

/** A backend on new tables, without setup(): the first call of the test creates them. */
function unset(options: Options): PostgresBackend {
  const backend = new PostgresBackend(options);
  homes.set(backend, { schema: options.schema!, prefix: options.tablePrefix! });
  return backend;
}

async function fresh(options: Options): Promise<PostgresBackend> {
  const backend = unset(options);
  await backend.setup();
  return backend;
}

const nextPrefix = () => `t${++tests}_`;
function nextSchema(): string {
  const created = uniqueSchema('conformance_fresh');
  freshSchemas.push(created);
  return created;
}
// Small, so the conformance suite's trimming test stays quick.
const maxEventsPerRun = 40;
const runtime = { events: true, inbox: true } as const;

/** Another "process" on the same tables: its own pool from the connection string, same schema and prefix. */
async function sibling(backend: PostgresBackend): Promise<PostgresBackend> {
  return fresh({ connectionString: DATABASE_URL, ...where(backend), maxEventsPerRun });
}

function where(backend: PostgresBackend): { schema: string; tablePrefix: string } {
  const home = homes.get(backend)!;
  return { schema: home.schema, tablePrefix: home.prefix };
}

async function corruptBlob(backend: PostgresBackend, runId: string, hash: string): Promise<void> {
  const home = homes.get(backend)!;
  // Below the adapter API, through another connection: a torn write seen by every process.
  await pool.query(
    `UPDATE "${home.schema}"."${home.prefix}blobs" SET data = substr(data, 1, length(data) / 2) WHERE run_id = $1 AND hash = $2`,
    [runId, hash],
  );
}

/** Every row of the backend's tables, as stored. */
async function dumpRaw(backend: PostgresBackend): Promise<string> {
  const home = homes.get(backend)!;
  return dumpPostgresTables(pool, home.schema, home.prefix);
}

/** After each test: the backend closed, its tables gone, so the shared schema never piles up relations. */
async function destroy(backend: PostgresBackend): Promise<void> {
  await backend.close();
  const home = homes.get(backend)!;
  await dropPrefix(pool, home.schema, home.prefix);
}

afterAll(async () => {
  for (const dropped of [schema, ...freshSchemas]) await dropSchema(pool, dropped).catch(() => undefined);
  await pool.end();
  await kysely.destroy();
});

describePg('PostgresBackend', () => {
  runConformanceSuite({
    name: 'postgres (connection string, own pool)',
    capabilities: { multiProcess: true, leases: true, ...runtime, notify: 'cross-process' },
    create: () => fresh({ connectionString: DATABASE_URL, schema, tablePrefix: nextPrefix(), maxEventsPerRun }),
    createFresh: async () => unset({ connectionString: DATABASE_URL, schema: nextSchema(), tablePrefix: nextPrefix(), maxEventsPerRun }),
    createSibling: sibling,
    maxEventsPerRun,
    corruptBlob,
    dumpRaw,
    destroy,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned pg.Pool)',
    capabilities: { multiProcess: true, leases: true, ...runtime, notify: 'cross-process' },
    create: () => fresh({ pool, schema, tablePrefix: nextPrefix(), maxEventsPerRun }),
    createFresh: async () => unset({ pool, schema: nextSchema(), tablePrefix: nextPrefix(), maxEventsPerRun }),
    // A second backend on the same pool: its LISTEN connection comes from that pool too.
    createSibling: async (backend) => fresh({ pool, ...where(backend), maxEventsPerRun }),
    maxEventsPerRun,
    corruptBlob,
    dumpRaw,
    destroy,
  });

  runConformanceSuite({
    name: 'postgres (caller-owned Kysely instance)',
    // Kysely hides its connections, so there is nothing to LISTEN on: no notify.
    capabilities: { multiProcess: true, leases: true, ...runtime },
    create: () => fresh({ db: kysely, schema, tablePrefix: nextPrefix() }),
    createFresh: async () => unset({ db: kysely, schema: nextSchema(), tablePrefix: nextPrefix() }),
    createSibling: sibling,
    corruptBlob,
    dumpRaw,
    destroy,
  });
});
