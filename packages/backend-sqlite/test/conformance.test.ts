import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runConformanceSuite } from '@savepoint/conformance';
import { SqliteBackend } from '../src/index.js';
import { tempDir } from './temp-dir.js';

/** Every value of every row of every table, one row a line, as stored (no escaping a search could trip on). */
function dumpRows(db: Database.Database): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  return tables
    .flatMap((table) =>
      (db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>).map(
        (row) => `${table}\t${Object.values(row).map(String).join('\t')}`,
      ),
    )
    .join('\n');
}

/** The rows, read through a connection of its own, then the bytes of the database file and its WAL. */
function dumpFile(path: string): string {
  const reader = new Database(path, { readonly: true });
  let rows: string;
  try {
    rows = dumpRows(reader);
  } finally {
    reader.close();
  }
  const files = [path, `${path}-wal`].filter((file) => existsSync(file));
  return [rows, ...files.map((file) => readFileSync(file).toString('latin1'))].join('\n');
}

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
function backendOnNewFile(): SqliteBackend {
  const dir = tempDir();
  // One directory level that does not exist yet: the backend creates it.
  const path = join(dir.path, 'data', 'savepoint.db');
  const backend = new SqliteBackend({ path, maxEventsPerRun: MAX_EVENTS });
  files.set(backend, { path, remove: dir.remove });
  return backend;
}

runConformanceSuite({
  name: 'sqlite (file)',
  capabilities,
  maxEventsPerRun: MAX_EVENTS,
  async create() {
    const backend = backendOnNewFile();
    await backend.setup();
    return backend;
  },
  createFresh: async () => backendOnNewFile(),
  dumpRaw: async (backend) => dumpFile(files.get(backend)!.path),
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

function backendOnNewConnection(): SqliteBackend {
  const db = new Database(':memory:');
  const backend = new SqliteBackend({ db, maxEventsPerRun: MAX_EVENTS });
  connections.set(backend, db);
  return backend;
}

runConformanceSuite({
  name: 'sqlite (caller-owned :memory: connection)',
  capabilities,
  maxEventsPerRun: MAX_EVENTS,
  // Never set up explicitly: the first call of each test migrates the empty database.
  create: async () => backendOnNewConnection(),
  createFresh: async () => backendOnNewConnection(),
  dumpRaw: async (backend) => dumpRows(connections.get(backend)!),
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
