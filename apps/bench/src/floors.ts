// The cheapest durable write each backend could possibly do on this machine: the "storage floor" that
// DESIGN §9 compares a small checkpoint against.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { summarize, type Summary } from './stats.js';

const PAYLOAD = JSON.stringify({ id: 'x'.repeat(36), seq: 1, status: 'active', nodes: { fetch: 'h'.repeat(43) } });

/** write + fsync + rename + directory fsync of one small file. */
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

/** One committed INSERT in WAL mode with the backend's default synchronous level. */
export function sqliteFloor(dir: string, samples: number): Summary {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    insert.run(PAYLOAD);
    times.push(performance.now() - t);
  }
  db.close();
  return summarize(times);
}
