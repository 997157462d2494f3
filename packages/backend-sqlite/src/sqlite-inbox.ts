import type Database from 'better-sqlite3';
import { compareInputs, type InputRecord, type NewInputRecord } from '@savepoint/core';

type Prepare = (sql: string) => Database.Statement;

interface InputRow {
  run_id: string;
  key: string;
  node_path: string;
  value: string;
  created_at: number;
  consumed_by: string | null;
  consumed_at: number | null;
}

const INPUT_COLUMNS = 'run_id, key, node_path, value, created_at, consumed_by, consumed_at';

/**
 * The input inbox in one table keyed by (run_id, key). The key being the primary key makes a repeated put a
 * no-op; consumption is a single `UPDATE ... WHERE consumed_by IS NULL RETURNING` in an IMMEDIATE
 * transaction, so one connection's takers and another's never both get a row.
 */
export class SqliteInbox {
  constructor(
    private readonly table: string,
    private readonly prepare: Prepare,
  ) {}

  put(db: Database.Database, runId: string, input: NewInputRecord): { created: boolean; record: InputRecord } {
    return db.transaction(() => {
      const { changes } = this.prepare(
        `INSERT INTO ${this.table} (${INPUT_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT (run_id, key) DO NOTHING`,
      ).run(runId, input.key, input.nodePath, input.value, input.createdAt);
      return { created: changes === 1, record: this.get(runId, input.key)! };
    }).immediate();
  }

  get(runId: string, key: string): InputRecord | null {
    const row = this.prepare(`SELECT ${INPUT_COLUMNS} FROM ${this.table} WHERE run_id = ? AND key = ?`).get(runId, key) as InputRow | undefined;
    return row === undefined ? null : fromRow(row);
  }

  take(db: Database.Database, runId: string, consumer: string, consumedAt: number): InputRecord[] {
    const rows = db
      .transaction(
        () =>
          this.prepare(
            `UPDATE ${this.table} SET consumed_by = ?, consumed_at = ? WHERE run_id = ? AND consumed_by IS NULL RETURNING ${INPUT_COLUMNS}`,
          ).all(consumer, consumedAt, runId) as InputRow[],
      )
      .immediate();
    // RETURNING gives rows in no promised order.
    return rows.map(fromRow).sort(compareInputs);
  }
}

function fromRow(row: InputRow): InputRecord {
  return {
    runId: row.run_id,
    key: row.key,
    nodePath: row.node_path,
    value: row.value,
    createdAt: row.created_at,
    consumedBy: row.consumed_by,
    consumedAt: row.consumed_at,
  };
}
