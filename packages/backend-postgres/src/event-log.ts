import type { EventRecord, NewEventRecord } from '@savepoint/core';
import { sql, type Kysely } from 'kysely';
import type { TableNames } from './table-names.js';
import { transaction } from './transaction.js';

interface EventRow {
  seq: number | string;
  type: string;
  data: string;
  ts: number | string;
}

/**
 * Appends a run's events in one transaction. Bumping the run's counter row first locks it until the commit, so
 * appenders of one run (in any process) queue there and each gets the next block of seqs; a rollback returns
 * the block, so seqs stay gap-free. The trim runs after the lock was taken, as a statement of its own: its
 * snapshot sees every earlier append, so no run ever keeps more than `maxEventsPerRun` events.
 */
export async function appendEvents(
  db: Kysely<any>,
  t: TableNames['sql'],
  runId: string,
  events: readonly NewEventRecord[],
  maxEventsPerRun: number,
): Promise<EventRecord[]> {
  const last = await transaction(db, async (trx) => {
    const { rows } = await sql<{ seq: number | string }>`INSERT INTO ${t.eventSeqs} AS c (run_id, seq) VALUES (${runId}, ${events.length})
      ON CONFLICT (run_id) DO UPDATE SET seq = c.seq + excluded.seq RETURNING seq`.execute(trx);
    const newest = Number(rows[0]!.seq);
    await sql`INSERT INTO ${t.events} (run_id, seq, type, data, ts)
      SELECT ${runId}, ${newest - events.length}::bigint + e.ord, e.type, e.data, e.ts
      FROM unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.data)}::text[], ${events.map((e) => e.ts)}::float8[])
        WITH ORDINALITY AS e(type, data, ts, ord)`.execute(trx);
    if (newest > maxEventsPerRun) {
      await sql`DELETE FROM ${t.events} WHERE run_id = ${runId} AND seq <= ${newest - maxEventsPerRun}::bigint`.execute(trx);
    }
    return newest;
  });
  const first = last - events.length + 1;
  return events.map((event, i) => ({ runId, seq: first + i, type: event.type, data: event.data, ts: event.ts }));
}

export async function readEvents(db: Kysely<any>, t: TableNames['sql'], runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
  // LIMIT NULL is no limit.
  const { rows } = await sql<EventRow>`SELECT seq, type, data, ts FROM ${t.events}
    WHERE run_id = ${runId} AND seq > ${afterSeq}::bigint ORDER BY seq LIMIT ${limit ?? null}`.execute(db);
  return rows.map((row) => ({ runId, seq: Number(row.seq), type: row.type, data: row.data, ts: Number(row.ts) }));
}
