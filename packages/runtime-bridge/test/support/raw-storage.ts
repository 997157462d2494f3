// Everything a backend spec's storage holds, read around the backend (file bytes, table rows, Redis keys), so a
// test can look for a planted secret in what Savepoint actually persisted.
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BackendSpec } from './backends.js';

export async function dumpRaw(spec: BackendSpec): Promise<string> {
  switch (spec.kind) {
    case 'sqlite':
      // The database file and its WAL, byte for byte: SQLite stores text as UTF-8, so any plaintext shows.
      return ['', '-wal'].map((suffix) => `${spec.path}${suffix}`).filter(existsSync).map((file) => readFileSync(file, 'latin1')).join('\n');
    case 'postgres':
      return dumpTables(spec);
    case 'redis':
      return dumpKeys(spec);
  }
}

async function dumpTables(spec: Extract<BackendSpec, { kind: 'postgres' }>): Promise<string> {
  const client = new pg.Client({ connectionString: spec.connectionString });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ tablename: string }>(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 AND left(tablename, length($2)) = $2',
      [spec.schema, spec.tablePrefix],
    );
    const lines: string[] = [];
    for (const { tablename } of tables) {
      const { rows } = await client.query<Record<string, unknown>>(`SELECT * FROM "${spec.schema}"."${tablename}"`);
      for (const row of rows) lines.push(`${tablename}\t${Object.values(row).map(String).join('\t')}`);
    }
    return lines.join('\n');
  } finally {
    await client.end();
  }
}

async function dumpKeys(spec: Extract<BackendSpec, { kind: 'redis' }>): Promise<string> {
  const client = new Redis(spec.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const lines: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${spec.prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) lines.push(`${key}\t${flatten(await readKey(client, key)).join('\t')}`);
    } while (cursor !== '0');
    return lines.join('\n');
  } finally {
    client.disconnect();
  }
}

async function readKey(client: Redis, key: string): Promise<unknown> {
  switch (await client.type(key)) {
    case 'string':
      return client.get(key);
    case 'hash':
      return client.hgetall(key);
    case 'list':
      return client.lrange(key, 0, -1);
    case 'set':
      return client.smembers(key);
    case 'zset':
      return client.zrange(key, '0', '-1', 'WITHSCORES');
    case 'stream':
      return client.xrange(key, '-', '+');
    default:
      return `unreadable type of ${key}`;
  }
}

function flatten(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([field, inner]) => [field, ...flatten(inner)]);
  return [String(value)];
}
