import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, type ChangeMessage } from '@savepoint/core';
import Database from 'better-sqlite3';
import { SqliteBackend } from '../src/index.js';
import { migrations } from '../src/migrations/index.js';
import { header } from './headers.js';
import { tempDir } from './temp-dir.js';

// Defect 7 of issue 8: a deployment's first request may be any call, on a database file nobody set up.
const dir = tempDir();
const opened: SqliteBackend[] = [];
let files = 0;

/** A backend on a database file that does not exist yet, in a directory that does not exist yet. */
function freshBackend(): { backend: SqliteBackend; path: string } {
  const path = join(dir.path, `fresh-${++files}`, 'nested', 'savepoint.db');
  const backend = new SqliteBackend({ path });
  opened.push(backend);
  return { backend, path };
}

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  dir.remove();
});

const recordedMigrations = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT name FROM savepoint_migrations ORDER BY name').pluck().all();
  } finally {
    db.close();
  }
};

describe('SqliteBackend on a fresh database file, without setup()', () => {
  it('a new file gets 8 KiB pages (2 KiB message blobs pack three to a page); an existing file keeps its own', async () => {
    const pageSize = (path: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return db.pragma('page_size', { simple: true });
      } finally {
        db.close();
      }
    };
    const fresh = freshBackend();
    await fresh.backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    expect(pageSize(fresh.path)).toBe(8192);

    const oldPath = join(dir.path, 'old-4k.db');
    const old = new Database(oldPath);
    old.pragma('page_size = 4096');
    old.exec('CREATE TABLE unrelated (x)');
    old.close();
    const existing = new SqliteBackend({ path: oldPath });
    opened.push(existing);
    await existing.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    expect(await existing.getHead('run-1')).toBe('cp-1');
    expect(pageSize(oldPath)).toBe(4096);
  });

  it('a caller-owned connection to an empty database works from its first call', async () => {
    const db = new Database(':memory:');
    const backend = new SqliteBackend({ db });
    expect(await backend.appendEvents('run-1', [{ type: 'run_started', data: '{}', ts: 1 }])).toHaveLength(1);
    expect(await backend.getHead('run-1')).toBeNull();
    await backend.close();
    db.close();
  });

  // The conformance suite's fresh-storage section makes every other method the first call (createFresh).
  it('publish and subscribe work as first calls, and the subscriber hears the publish', async () => {
    await expect(freshBackend().backend.publish({ runId: 'run-1', kind: 'event', seq: 1 })).resolves.toBeUndefined();
    const { backend } = freshBackend();
    const heard: ChangeMessage[] = [];
    await backend.subscribe('run-1', (message) => heard.push(message));
    await backend.publish({ runId: 'run-1', kind: 'input' });
    expect(heard).toEqual([{ runId: 'run-1', kind: 'input' }]);
  });

  it('first calls of several connections to one new file all succeed and migrate once', async () => {
    const { backend, path } = freshBackend();
    const others = [1, 2, 3].map(() => new SqliteBackend({ path }));
    opened.push(...others);
    const all = [backend, ...others];
    await Promise.all(all.map((b, i) => b.putHeader(header({ id: `cp-${i}`, runId: `run-${i}`, seq: 1 }))));
    expect(await others[2]!.getHead('run-0')).toBe('cp-0');
    expect(recordedMigrations(path)).toEqual(migrations.map((m) => m.name));
  });

  it('a file that cannot be opened at the first call: that call fails, the next one sets up and works', async () => {
    const parent = join(dir.path, 'blocked');
    // A file where the database's directory should be: mkdir fails until it is moved away.
    writeFileSync(parent, 'not a directory');
    const path = join(parent, 'savepoint.db');
    const backend = new SqliteBackend({ path });
    opened.push(backend);
    await expect(backend.getHead('run-1')).rejects.toThrow(BackendUnavailableError);
    await expect(backend.getHead('run-1')).rejects.toMatchObject({
      message: expect.stringMatching(/could not be created \(EEXIST\); a part of its path is a regular file, not a directory/),
      location: path,
    });
    rmSync(parent);
    mkdirSync(parent);
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));
    expect(await backend.getHead('run-1')).toBe('cp-1');
    expect(recordedMigrations(path)).toEqual(migrations.map((m) => m.name));
  });

  it("a regular file deeper in the database's path (ENOTDIR): BackendUnavailableError saying so, with the path", async () => {
    const blocked = join(dir.path, 'blocked-deeper');
    writeFileSync(blocked, 'not a directory');
    const path = join(blocked, 'data', 'savepoint.db');
    const backend = new SqliteBackend({ path });
    opened.push(backend);
    const failure = await backend.setup().catch((error: unknown) => error);
    expect(BackendUnavailableError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({ message: expect.stringMatching(/\(ENOTDIR\); a part of its path is a regular file/), location: path });
  });

  it('a database locked by another process at the first call: BackendUnavailableError, then it works', async () => {
    const { path } = freshBackend();
    mkdirSync(join(path, '..'), { recursive: true });
    const holder = new Database(path);
    holder.pragma('journal_mode = WAL');
    holder.exec('BEGIN IMMEDIATE');
    const backend = new SqliteBackend({ path, busyTimeoutMs: 0 });
    opened.push(backend);
    await expect(backend.appendEvents('run-1', [{ type: 'a', data: '{}', ts: 1 }])).rejects.toThrow(BackendUnavailableError);
    holder.exec('COMMIT');
    holder.close();
    expect(await backend.appendEvents('run-1', [{ type: 'a', data: '{}', ts: 1 }])).toEqual([
      { runId: 'run-1', seq: 1, type: 'a', data: '{}', ts: 1 },
    ]);
  });
});
