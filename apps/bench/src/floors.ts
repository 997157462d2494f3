// The cheapest durable write each backend could possibly do on this machine: the "storage floor" that
// DESIGN §9 compares a small checkpoint against. See README.md for what each floor includes.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { summarize, type Summary } from './stats.js';

const PAYLOAD = JSON.stringify({ id: 'x'.repeat(36), seq: 1, status: 'active', nodes: { fetch: 'h'.repeat(43) } });

/** Create + write + fsync + rename + directory fsync of one small file (synchronous calls: no event-loop hops). */
export function fileFloor(dir: string, samples: number): Summary {
  const floorDir = join(dir, 'floor');
  mkdirSync(floorDir, { recursive: true });
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const tmp = join(floorDir, `.${i}.tmp`);
    const fd = openSync(tmp, 'w');
    writeSync(fd, PAYLOAD);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(floorDir, `${i}.json`));
    const dirFd = openSync(floorDir, 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    times.push(performance.now() - t);
  }
  return summarize(times);
}

/** Opens a database with the pragmas `SqliteBackend` uses by default (WAL, synchronous NORMAL). */
export function openSqlite(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** One commit: a `BEGIN IMMEDIATE` transaction holding one small INSERT, with the backend's pragmas. */
export function sqliteFloor(dir: string, samples: number): Summary {
  const db = openSqlite(join(dir, 'floor.db'));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const commit = db.transaction((body: string) => insert.run(body));
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    commit.immediate(PAYLOAD);
    times.push(performance.now() - t);
  }
  db.close();
  return summarize(times);
}
