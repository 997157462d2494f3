import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { BackendUnavailableError, InvalidArgumentError, silentLogger, type ChangeMessage } from '@savepoint/core';
import { Kysely, PostgresDialect } from 'kysely';
import { PostgresBackend, type PostgresBackendOptions } from '../src/index.js';
import { tableNames } from '../src/table-names.js';
import { DATABASE_URL, describePg, dropSchema, testPool, uniqueSchema } from './server.js';

// The conformance suite covers the contract (seqs, inbox races, delivery across instances); these are the
// PostgreSQL specifics: the LISTEN connection's life, channel isolation, the { db } form and rollbacks.
const schema = uniqueSchema('runtime');
const otherSchema = uniqueSchema('runtime_other');
const pool = testPool({ max: 4 });
const opened: PostgresBackend[] = [];
let prefixes = 0;
const nextPrefix = () => `r${++prefixes}_`;

async function backendOn(options: Partial<PostgresBackendOptions> = {}, setup = true): Promise<PostgresBackend> {
  const backend = new PostgresBackend({ pool, schema, tablePrefix: nextPrefix(), ...options } as PostgresBackendOptions);
  opened.push(backend);
  if (setup) await backend.setup();
  return backend;
}

/** The connections of `applicationName`, and which of them last ran LISTEN. */
async function connectionsOf(applicationName: string): Promise<{ all: number[]; listening: number[] }> {
  const { rows } = await pool.query<{ pid: number; listening: boolean }>(
    `SELECT pid, query LIKE 'LISTEN %' AS listening FROM pg_stat_activity WHERE application_name = $1`,
    [applicationName],
  );
  return { all: rows.map((row) => row.pid), listening: rows.filter((row) => row.listening).map((row) => row.pid) };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Gave up waiting for ${what}.`);
}

/** Records what a subscriber heard; `heard` resolves once a matching message arrived. */
function recorder() {
  const messages: ChangeMessage[] = [];
  const waiters: Array<[(m: ChangeMessage) => boolean, () => void]> = [];
  return {
    messages,
    listener(message: ChangeMessage) {
      messages.push(message);
      for (const [matches, resolve] of waiters) if (matches(message)) resolve();
    },
    heard(runId: string, seq: number): Promise<void> {
      const matches = (m: ChangeMessage) => m.runId === runId && m.seq === seq;
      if (messages.some(matches)) return Promise.resolve();
      return new Promise((resolve) => waiters.push([matches, resolve]));
    },
  };
}

afterEach(async () => {
  for (const backend of opened.splice(0)) await backend.close();
});

afterAll(async () => {
  await dropSchema(pool, schema).catch(() => undefined);
  await dropSchema(pool, otherSchema).catch(() => undefined);
  await pool.end();
});

describePg('PostgresBackend event log and inbox', () => {
  it('a failed append (rolled back) leaves no gap in the seqs', async () => {
    const backend = await backendOn();
    const ok = { type: 'node_started', data: '{}', ts: 1 };
    await expect(backend.appendEvents('run-1', [ok, { type: 'x', data: 'nul \u0000 here', ts: 2 }])).rejects.toThrow(InvalidArgumentError);
    expect(await backend.readEvents('run-1', 0)).toEqual([]);
    expect((await backend.appendEvents('run-1', [ok])).map((e) => e.seq)).toEqual([1]);
  });

  it('keeps at most maxEventsPerRun events, even when one call appends more', async () => {
    const backend = await backendOn({ maxEventsPerRun: 3 });
    const events = Array.from({ length: 5 }, (_, i) => ({ type: 'stream_chunk', data: String(i), ts: i }));
    expect((await backend.appendEvents('run-1', events)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(backend.maxEventsPerRun).toBe(3);
    expect(() => new PostgresBackend({ pool, maxEventsPerRun: 0 })).toThrow(/maxEventsPerRun must be a positive integer/);
  });

  it('stamps consumedAt with the database clock', async () => {
    const backend = await backendOn();
    await backend.putInput('run-1', { key: 'k', nodePath: 'approve', value: 'true', createdAt: 0 });
    const serverNow = async () => Number((await pool.query('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms')).rows[0].ms);
    const before = await serverNow();
    const [taken] = await backend.takeInputs('run-1', 'worker-a');
    const after = await serverNow();
    expect(taken!.consumedAt).toBeGreaterThanOrEqual(Math.floor(before));
    expect(taken!.consumedAt).toBeLessThanOrEqual(after);
  });

  it('a closed backend refuses the runtime calls', async () => {
    const backend = await backendOn();
    await backend.close();
    await expect(backend.appendEvents('run-1', [{ type: 't', data: '{}', ts: 1 }])).rejects.toThrow(BackendUnavailableError);
    await expect(backend.subscribe('*', () => undefined)).rejects.toThrow(/closed/);
    await expect(backend.publish({ runId: 'run-1', kind: 'event' })).rejects.toThrow(BackendUnavailableError);
  });
});

describePg('PostgresBackend change notification (LISTEN/NOTIFY)', () => {
  it('takes its LISTEN connection from a caller-owned pool and destroys it on close(): the server is back to before', async () => {
    const applicationName = `sp_listen_${process.pid}`;
    const own = testPool({ max: 2, application_name: applicationName });
    try {
      const tablePrefix = nextPrefix();
      // Another backend sets up and publishes, so this pool opens nothing but the LISTEN connection.
      const publisher = await backendOn({ tablePrefix });
      const backend = await backendOn({ pool: own, tablePrefix }, false);
      expect(await connectionsOf(applicationName)).toEqual({ all: [], listening: [] });
      const heard = recorder();
      const unsubscribe = await backend.subscribe('*', heard.listener);
      const during = await connectionsOf(applicationName);
      expect(during.listening).toHaveLength(1);
      expect(during.all).toEqual(during.listening);
      await publisher.publish({ runId: 'run-1', kind: 'checkpoint', seq: 1 });
      await heard.heard('run-1', 1);
      await unsubscribe();

      await backend.close();
      await until(async () => ((await connectionsOf(applicationName)).all.length === 0 ? true : undefined), 'the LISTEN connection to end');
      // The pool itself stays the caller's, and usable.
      expect((await own.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await own.end();
    }
  });

  it('closes the LISTEN connection with the pool it created from a connection string', async () => {
    const applicationName = `sp_listen_own_${process.pid}`;
    const backend = await backendOn({ pool: undefined, connectionString: DATABASE_URL, poolConfig: { application_name: applicationName } });
    await backend.subscribe('run-1', () => undefined);
    expect((await connectionsOf(applicationName)).listening).toHaveLength(1);
    await backend.close();
    await until(async () => ((await connectionsOf(applicationName)).all.length === 0 ? true : undefined), 'every connection to end');
  });

  it('listens again after its connection is terminated, on a new connection', async () => {
    const applicationName = `sp_relisten_${process.pid}`;
    const tablePrefix = nextPrefix();
    const publisher = await backendOn({ tablePrefix });
    const logger = { ...silentLogger, warn: jest.fn() };
    const backend = await backendOn({ pool: undefined, connectionString: DATABASE_URL, tablePrefix, poolConfig: { application_name: applicationName }, logger });
    const heard = recorder();
    await backend.subscribe('run-1', heard.listener);
    const [first] = (await connectionsOf(applicationName)).listening;
    await pool.query('SELECT pg_terminate_backend($1)', [first]);

    // Notifications sent while it reconnects are lost; keep publishing until one arrives on the new connection.
    let seq = 0;
    await until(async () => {
      seq += 1;
      await publisher.publish({ runId: 'run-1', kind: 'event', seq });
      return heard.messages.length > 0 ? true : undefined;
    }, 'a notification after the reconnection');
    const { listening } = await connectionsOf(applicationName);
    expect(listening).toHaveLength(1);
    expect(listening[0]).not.toBe(first);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/LISTEN connection .* was lost; reconnecting in \d+ ms/), {
      backend: 'postgres',
      channel: expect.any(String),
    });
  });

  it('hears only its own schema and prefix, and drops a stray NOTIFY on its channel', async () => {
    const tablePrefix = nextPrefix();
    const backend = await backendOn({ tablePrefix });
    const otherPrefix = await backendOn();
    const otherSchemaBackend = await backendOn({ schema: otherSchema, tablePrefix });
    const heard = recorder();
    await backend.subscribe('*', heard.listener);
    await otherPrefix.publish({ runId: 'run-1', kind: 'event', seq: 1 });
    await otherSchemaBackend.publish({ runId: 'run-1', kind: 'event', seq: 2 });
    const channel = tableNames(schema, tablePrefix, 'unused').changes;
    for (const stray of ['not json', 'null', '{"runId":"../x","kind":"event"}']) await pool.query('SELECT pg_notify($1, $2)', [channel, stray]);
    await backend.publish({ runId: 'run-1', kind: 'event', seq: 3 });
    await heard.heard('run-1', 3);
    // Notifications reach a session in commit order: anything it could hear of the first ones would be here.
    expect(heard.messages).toEqual([{ runId: 'run-1', kind: 'event', seq: 3 }]);
  });

  it('on a Kysely instance: no notify capability and no subscribe, but its publishes reach other backends', async () => {
    const tablePrefix = nextPrefix();
    const listener = await backendOn({ tablePrefix });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: testPool({ max: 1 }) }) });
    try {
      const onKysely = await backendOn({ db, pool: undefined, tablePrefix });
      expect(onKysely.capabilities.notify).toBeUndefined();
      await expect(onKysely.subscribe('*', () => undefined)).rejects.toThrow(/cannot subscribe.*\{ pool \}/);
      const heard = recorder();
      await listener.subscribe('run-1', heard.listener);
      await onKysely.publish({ runId: 'run-1', kind: 'input' , seq: 1});
      await heard.heard('run-1', 1);
    } finally {
      await db.destroy();
    }
  });

  it('a subscribe that cannot reach the server fails with BackendUnavailableError, and close() while it opens ends it', async () => {
    const down = await backendOn({ pool: undefined, connectionString: 'postgres://postgres@127.0.0.1:1/test' }, false);
    await expect(down.subscribe('*', () => undefined)).rejects.toThrow(BackendUnavailableError);
    await expect(down.subscribe('*', () => undefined)).rejects.toThrow(/ECONNREFUSED/);

    const backend = await backendOn();
    const opening = backend.subscribe('*', () => undefined);
    await backend.close();
    await expect(opening).rejects.toThrow(BackendUnavailableError);
  });
});

describe('PostgresBackend runtime capabilities', () => {
  it('declares the event log, the inbox and cross-process notification', () => {
    const backend = new PostgresBackend({ connectionString: DATABASE_URL });
    expect(backend.capabilities).toEqual({ multiProcess: true, leases: true, events: true, inbox: true, notify: 'cross-process' });
    return backend.close();
  });
});
