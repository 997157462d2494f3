// Everything a backend spec's storage holds, read around the backend (file bytes, table rows, Redis keys), so a
// test can look for a planted secret in what Savepoint actually persisted.
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { dumpPostgresTables, dumpRedisKeys } from '@savepoint/test-servers';
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
    return await dumpPostgresTables(client, spec.schema, spec.tablePrefix);
  } finally {
    await client.end();
  }
}

async function dumpKeys(spec: Extract<BackendSpec, { kind: 'redis' }>): Promise<string> {
  const client = new Redis(spec.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    return await dumpRedisKeys(client, spec.prefix);
  } finally {
    client.disconnect();
  }
}
