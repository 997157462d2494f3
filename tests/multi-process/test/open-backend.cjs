// Opens the storage a worker process was pointed at (its argv config), through the BUILT packages: one SQLite
// file, one file-backend directory, one PostgreSQL schema or one Redis key prefix.
'use strict';

/** `config.backend` picks the backend; the other fields are that backend's (see test/namespaces.ts). */
function openBackend(config) {
  if (config.backend === 'sqlite') {
    const { SqliteBackend } = require('@savepoint/backend-sqlite');
    return new SqliteBackend({ path: config.path, synchronous: 'FULL' });
  }
  if (config.backend === 'file') {
    const { FileBackend } = require('@savepoint/backend-file');
    // A small lockStaleMs lets the stale-writer test break a frozen holder's lock in bounded time.
    return new FileBackend({ dir: config.dir, ...(config.lockStaleMs === undefined ? {} : { lockStaleMs: config.lockStaleMs }) });
  }
  if (config.backend === 'postgres') {
    const { PostgresBackend } = require('@savepoint/backend-postgres');
    // Small pools: several test packages share the server's connection slots while CI runs them in parallel.
    return new PostgresBackend({ connectionString: config.url, schema: config.schema, tablePrefix: 'sp_', poolConfig: { max: config.poolMax ?? 3 } });
  }
  if (config.backend === 'redis') {
    const { RedisBackend } = require('@savepoint/backend-redis');
    return new RedisBackend({ url: config.url, prefix: config.prefix });
  }
  throw new Error(`unknown backend ${config.backend}`);
}

/** Opens the configured backend, runs `main(backend)` and closes the backend whatever happens. */
async function withBackend(config, main) {
  const backend = openBackend(config);
  try {
    return await main(backend);
  } finally {
    await backend.close?.();
  }
}

module.exports = { openBackend, withBackend };
