import { afterAll, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, type ChangeMessage } from '@savepoint/core';
import type pg from 'pg';
import { PostgresBackend, type PostgresBackendOptions } from '../src/index.js';
import { header } from './headers.js';
import { DATABASE_URL, describePg, dropSchema, testPool, uniqueSchema } from './server.js';

// Defect 7 of issue 8: a deployment's first request may be any call, on a schema nobody set up.
const pool = testPool({ max: 6 });
const schemas: string[] = [];
const opened: PostgresBackend[] = [];

function freshBackend(options: Partial<PostgresBackendOptions> = {}): PostgresBackend {
  const schema = uniqueSchema('fresh');
  schemas.push(schema);
  const backend = new PostgresBackend({ pool, schema, ...options } as PostgresBackendOptions);
  opened.push(backend);
  return backend;
}

/**
 * A pool in front of `inner` that counts migration runs (each looks the schema up once) and can refuse its
 * first connections as a server that is down would.
 */
function instrumentedPool(inner: pg.Pool, refuseFirst = 0) {
  const stats = { migrations: 0, refused: 0 };
  const wrapped = new WeakSet<pg.PoolClient>();
  const fake = {
    async connect(): Promise<pg.PoolClient> {
      if (stats.refused < refuseFirst) {
        stats.refused += 1;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      const client = await inner.connect();
      if (!wrapped.has(client)) {
        wrapped.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].includes('FROM pg_namespace')) stats.migrations += 1;
          return query(...args);
        };
      }
      return client;
    },
  };
  return { stats, pool: fake as unknown as pg.Pool };
}

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  for (const schema of schemas) await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
});

describePg('PostgresBackend on a fresh schema, without setup()', () => {
  // The conformance suite's fresh-storage section makes every other method the first call (createFresh).
  it('publish and subscribe work as first calls, and the subscriber hears the publish', async () => {
    await expect(freshBackend().publish({ runId: 'run-1', kind: 'event', seq: 1 })).resolves.toBeUndefined();
    const backend = freshBackend({ pool: undefined, connectionString: DATABASE_URL });
    const heard: ChangeMessage[] = [];
    await backend.subscribe('run-1', (message) => heard.push(message));
    await backend.publish({ runId: 'run-1', kind: 'input' });
    for (let i = 0; i < 500 && heard.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([{ runId: 'run-1', kind: 'input' }]);
  });

  it('concurrent first calls migrate once, and calls after that add no round trip for setup', async () => {
    const inner = testPool({ max: 4 });
    const { stats, pool: counted } = instrumentedPool(inner);
    const backend = freshBackend({ pool: counted });
    await Promise.all([
      backend.getHead('run-1'),
      backend.putHeader(header({ id: 'cp-1', runId: 'run-2', seq: 1 })),
      backend.appendEvents('run-3', [{ type: 'run_started', data: '{}', ts: 1 }]),
      backend.acquireLease('run-4', 'worker-a', 60_000),
      backend.setup(),
    ]);
    expect(stats.migrations).toBe(1);
    await backend.setup();
    await backend.getHead('run-2');
    expect(stats.migrations).toBe(1);
    await backend.close();
    await inner.end();
  });

  it('first calls of separate processes on one fresh schema all succeed (advisory lock)', async () => {
    const schema = uniqueSchema('fresh_race');
    schemas.push(schema);
    const backends = Array.from({ length: 4 }, () => new PostgresBackend({ connectionString: DATABASE_URL, schema }));
    opened.push(...backends);
    const results = await Promise.allSettled(backends.map((backend, i) => backend.putHeader(header({ id: `cp-${i}`, runId: `run-${i}`, seq: 1 }))));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await backends[0]!.getHead('run-3')).toBe('cp-3');
  });

  it('a server that was down at the first call: that call fails, the next one sets up and works', async () => {
    const inner = testPool({ max: 2 });
    const { stats, pool: flaky } = instrumentedPool(inner, 1);
    const backend = freshBackend({ pool: flaky });
    await expect(backend.getHead('run-1')).rejects.toThrow(BackendUnavailableError);
    await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }))).resolves.toBeUndefined();
    expect(await backend.getHead('run-1')).toBe('cp-1');
    expect(stats).toEqual({ migrations: 1, refused: 1 });
    await backend.close();
    await inner.end();
  });

  it('a schema dropped while the backend runs: one call reports it, the next one creates it again', async () => {
    const backend = freshBackend();
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    await dropSchema(pool, schemas[schemas.length - 1]!);
    await expect(backend.getHead('run-1')).rejects.toThrow(/dropped after the backend created them/);
    expect(await backend.getHead('run-1')).toBeNull();
    await backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 1 }));
    expect(await backend.getHead('run-1')).toBe('cp-2');
  });
});

describe('PostgresBackend setup() after close()', () => {
  it('refuses with BackendUnavailableError and runs nothing', async () => {
    const backend = new PostgresBackend({ connectionString: DATABASE_URL });
    await backend.close();
    await expect(backend.getHead('run-1')).rejects.toThrow(/closed/);
  });
});
