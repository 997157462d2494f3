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

const MAX_EVENTS = 50;
const capabilities = { multiProcess: true, leases: true, events: true, inbox: true, notify: 'in-process' } as const;

// A database file per test, owned by the backend; corruption goes through a second connection.
const files = new WeakMap<SqliteBackend, { path: string; remove(): void }>();
runConformanceSuite({
  name: 'sqlite (file)',
  capabilities,
  maxEventsPerRun: MAX_EVENTS,
  async create() {
    const dir = tempDir();
    const backend = new SqliteBackend({ path: join(dir.path, 'savepoint.db'), maxEventsPerRun: MAX_EVENTS });
    await backend.setup();
    files.set(backend, { path: join(dir.path, 'savepoint.db'), remove: dir.remove });
    return backend;
  },
  async destroy(backend) {
    await backend.close();
    files.get(backend)!.remove();
  },
  // Its own connection to the same file, as another process would have.
  async createSibling(backend) {
    const sibling = new SqliteBackend({ path: files.get(backend)!.path, maxEventsPerRun: MAX_EVENTS });
    await sibling.setup();
    return sibling;
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
  capabilities,
  maxEventsPerRun: MAX_EVENTS,
  async create() {
    const db = new Database(':memory:');
    const backend = new SqliteBackend({ db, maxEventsPerRun: MAX_EVENTS });
    connections.set(backend, db);
    return backend;
  },
  async destroy(backend) {
    await backend.close();
    connections.get(backend)!.close();
  },
  // A second backend on the caller's connection: a :memory: database is reachable through that one only.
  async createSibling(backend) {
    const sibling = new SqliteBackend({ db: connections.get(backend)!, maxEventsPerRun: MAX_EVENTS });
    await sibling.setup();
    return sibling;
  },
  async corruptBlob(backend, runId, hash) {
    corrupt(connections.get(backend)!, runId, hash);
  },
});
