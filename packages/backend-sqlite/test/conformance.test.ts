import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runConformanceSuite } from '@savepoint/conformance';
import { SqliteBackend } from '../src/index.js';
import { tempDir } from './temp-dir.js';

const corrupt = (db: Database.Database, runId: string, hash: string) => {
  db.prepare('UPDATE savepoint_blobs SET data = substr(data, 1, length(data) / 2) WHERE run_id = ? AND hash = ?').run(
    runId,
    hash,
  );
};

// A database file per test, owned by the backend; corruption goes through a second connection.
const files = new WeakMap<SqliteBackend, { path: string; remove(): void }>();
runConformanceSuite({
  name: 'sqlite (file)',
  capabilities: { multiProcess: true, leases: true },
  async create() {
    const dir = tempDir();
    const backend = new SqliteBackend({ path: join(dir.path, 'savepoint.db') });
    await backend.setup();
    files.set(backend, { path: join(dir.path, 'savepoint.db'), remove: dir.remove });
    return backend;
  },
  async destroy(backend) {
    await backend.close();
    files.get(backend)!.remove();
  },
  async corruptBlob(backend, runId, hash) {
    const other = new Database(files.get(backend)!.path);
    corrupt(other, runId, hash);
    other.close();
  },
});

// A caller-owned in-memory connection per test.
const connections = new WeakMap<SqliteBackend, Database.Database>();
runConformanceSuite({
  name: 'sqlite (caller-owned :memory: connection)',
  capabilities: { multiProcess: true, leases: true },
  async create() {
    const db = new Database(':memory:');
    const backend = new SqliteBackend({ db });
    connections.set(backend, db);
    return backend;
  },
  async destroy(backend) {
    await backend.close();
    connections.get(backend)!.close();
  },
  async corruptBlob(backend, runId, hash) {
    corrupt(connections.get(backend)!, runId, hash);
  },
});
