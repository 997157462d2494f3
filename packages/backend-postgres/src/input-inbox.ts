import type { InputRecord, NewInputRecord } from '@savepoint/core';
import { sql, type Kysely } from 'kysely';
import type { TableNames } from './table-names.js';

const INPUT_COLUMNS = sql.raw('run_id, key, node_path, value, created_at, consumed_by, consumed_at');

interface InputRow {
  run_id: string;
  key: string;
  node_path: string;
  value: string;
  created_at: number | string;
  consumed_by: string | null;
  consumed_at: number | string | null;
}

/**
 * Inserts the input unless its key exists, then reads the stored one. Two statements on purpose: when another
 * caller inserts the same key at the same moment, `ON CONFLICT` waits for its commit, and only a statement
 * started after that (a new snapshot) can see the winner's row.
 */
export async function putInput(
  db: Kysely<any>,
  t: TableNames['sql'],
  runId: string,
  input: NewInputRecord,
): Promise<{ created: boolean; record: InputRecord }> {
  const { rows } = await sql<InputRow>`INSERT INTO ${t.inputs} (run_id, key, node_path, value, created_at)
    VALUES (${runId}, ${input.key}, ${input.nodePath}, ${input.value}, ${input.createdAt})
    ON CONFLICT DO NOTHING RETURNING ${INPUT_COLUMNS}`.execute(db);
  if (rows[0] !== undefined) return { created: true, record: fromRow(rows[0]) };
  // Inputs are never deleted, so the conflicting row is there.
  return { created: false, record: (await getInput(db, t, runId, input.key))! };
}

/**
 * One statement: lock the run's unconsumed inputs (skipping those another taker is consuming right now, which
 * that taker gets), mark them with the consumer and the database clock, and return them oldest first.
 */
export async function takeInputs(db: Kysely<any>, t: TableNames['sql'], runId: string, consumer: string): Promise<InputRecord[]> {
  const { rows } = await sql<InputRow>`WITH taken AS (
      UPDATE ${t.inputs} AS i SET consumed_by = ${consumer}, consumed_at = floor(extract(epoch FROM clock_timestamp()) * 1000)::float8
      FROM (SELECT key FROM ${t.inputs} WHERE run_id = ${runId} AND consumed_by IS NULL ORDER BY key FOR UPDATE SKIP LOCKED) AS free
      WHERE i.run_id = ${runId} AND i.key = free.key
      RETURNING ${sql.raw('i.run_id, i.key, i.node_path, i.value, i.created_at, i.consumed_by, i.consumed_at')}
    )
    SELECT ${INPUT_COLUMNS} FROM taken ORDER BY created_at, key`.execute(db);
  return rows.map(fromRow);
}

export async function getInput(db: Kysely<any>, t: TableNames['sql'], runId: string, key: string): Promise<InputRecord | null> {
  const { rows } = await sql<InputRow>`SELECT ${INPUT_COLUMNS} FROM ${t.inputs} WHERE run_id = ${runId} AND key = ${key}`.execute(db);
  return rows[0] === undefined ? null : fromRow(rows[0]);
}

/** `Number()`: a caller's pool may parse float8 as strings. */
function fromRow(row: InputRow): InputRecord {
  return {
    runId: row.run_id,
    key: row.key,
    nodePath: row.node_path,
    value: row.value,
    createdAt: Number(row.created_at),
    consumedBy: row.consumed_by,
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}
