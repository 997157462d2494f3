import type Database from 'better-sqlite3';
import type { EventRecord, NewEventRecord } from '@savepoint/core';

type Prepare = (sql: string) => Database.Statement;

/**
 * The event log in one table keyed by (run_id, seq). An append is one IMMEDIATE transaction: it takes the
 * database write lock before reading `MAX(seq)`, so appenders on other connections (other processes) queue
 * behind it and never pick the same seq. Trimming keeps the newest rows, so `MAX(seq)` never goes back.
 */
export class SqliteEventLog {
  constructor(
    private readonly table: string,
    private readonly maxEventsPerRun: number,
    private readonly prepare: Prepare,
  ) {}

  append(db: Database.Database, runId: string, events: readonly NewEventRecord[]): EventRecord[] {
    return db.transaction((): EventRecord[] => {
      const last = this.prepare(`SELECT COALESCE(MAX(seq), 0) FROM ${this.table} WHERE run_id = ?`).pluck().get(runId) as number;
      const insert = this.prepare(`INSERT INTO ${this.table} (run_id, seq, type, data, ts) VALUES (?, ?, ?, ?, ?)`);
      const appended = events.map((event, i): EventRecord => {
        const record = { runId, seq: last + 1 + i, type: event.type, data: event.data, ts: event.ts };
        insert.run(runId, record.seq, record.type, record.data, record.ts);
        return record;
      });
      this.prepare(`DELETE FROM ${this.table} WHERE run_id = ? AND seq <= ?`).run(runId, last + events.length - this.maxEventsPerRun);
      return appended;
    }).immediate();
  }

  read(runId: string, afterSeq: number, limit: number | undefined): EventRecord[] {
    const rows = this.prepare(`SELECT seq, type, data, ts FROM ${this.table} WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`).all(
      runId,
      afterSeq,
      limit ?? -1, // SQLite: a negative LIMIT means none
    ) as Array<Omit<EventRecord, 'runId'>>;
    return rows.map((row) => ({ runId, seq: row.seq, type: row.type, data: row.data, ts: row.ts }));
  }
}
