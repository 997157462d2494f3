// PostgreSQL and Redis cases: measured when a server answers at DATABASE_URL / REDIS_URL, each in a
// schema / key prefix of its own that is removed afterwards. Their floor is one committed write round trip.
import { randomBytes } from 'node:crypto';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import Redis from 'ioredis';
import pg from 'pg';
import { summarize, type Summary } from './stats.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PAYLOAD = JSON.stringify({ id: 'x'.repeat(36), seq: 1, status: 'active', nodes: { fetch: 'h'.repeat(43) } });

export interface ServerCase {
  name: string;
  /** A fresh backend per call, in this case's own namespace. */
  create(): PostgresBackend | RedisBackend;
  floor(samples: number): Promise<Summary>;
  /** LangGraph's saver for the same server, when there is one, set up in a namespace of its own. */
  langGraph?(): Promise<PostgresSaver>;
  /** Removes everything the case wrote. */
  dispose(): Promise<void>;
}

async function timed(samples: number, once: (i: number) => Promise<unknown>): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await once(i);
    times.push(performance.now() - t);
  }
  return summarize(times);
}

async function postgresCase(): Promise<ServerCase> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10, connectionTimeoutMillis: 2000 });
  await pool.query('SELECT 1');
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  return {
    name: 'postgres',
    create: () => new PostgresBackend({ pool, schema }),
    async floor(samples) {
      await pool.query(`CREATE TABLE ${schema}.floor (id serial PRIMARY KEY, body text)`);
      return timed(samples, () => pool.query(`INSERT INTO ${schema}.floor (body) VALUES ($1)`, [PAYLOAD]));
    },
    async langGraph() {
      const saver = new PostgresSaver(pool, undefined, { schema: `${schema}_langgraph` });
      await saver.setup();
      return saver;
    },
    async dispose() {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema}_langgraph CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}

async function redisCase(): Promise<ServerCase> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await client.connect();
  const prefix = `bench-${randomBytes(4).toString('hex')}:`;
  return {
    name: 'redis',
    create: () => new RedisBackend({ client, prefix }),
    floor: (samples) => timed(samples, (i) => client.set(`${prefix}floor:${i}`, PAYLOAD)),
    async dispose() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await client.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      client.disconnect();
    },
  };
}

/** The server cases whose server answers; the others are reported as skipped, with the reason. */
export async function reachableServerCases(): Promise<{ cases: ServerCase[]; skipped: string[] }> {
  const cases: ServerCase[] = [];
  const skipped: string[] = [];
  for (const [name, make] of [['postgres', postgresCase], ['redis', redisCase]] as const) {
    try {
      cases.push(await make());
    } catch (error) {
      skipped.push(`${name}: no server (${(error as Error).message})`);
    }
  }
  return { cases, skipped };
}
