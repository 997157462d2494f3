import type { CheckpointStatus, HeaderRecord } from '@savepoint/core';
import { sql } from 'kysely';

/** Column list shared by every header SELECT, in the order `HeaderRow` expects. */
export const HEADER_COLUMNS = sql.raw(
  'id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body',
);

/** The record's fields in the order of `HEADER_COLUMNS`. */
const HEADER_FIELDS = [
  'id',
  'flowId',
  'workflowId',
  'runId',
  'seq',
  'parentCheckpointId',
  'status',
  'tenantId',
  'pendingInput',
  'createdAt',
  'updatedAt',
  'body',
] as const satisfies ReadonlyArray<keyof HeaderRecord>;

/** The header's values in the order of `HEADER_COLUMNS` (the commit function takes its parameters so). */
export function headerValues(header: HeaderRecord): unknown[] {
  return HEADER_FIELDS.map((field) => header[field]);
}

export interface HeaderRow {
  id: string;
  flow_id: string;
  workflow_id: string | null;
  run_id: string;
  seq: number | string;
  parent_id: string | null;
  status: string;
  tenant_id: string | null;
  pending_input: boolean;
  /** Numbers, unless the caller's pool parses numeric types differently (hence `Number()` below). */
  created_at: number | string;
  updated_at: number | string;
  body: string;
}

export function fromRow(row: HeaderRow): HeaderRecord {
  return {
    id: row.id,
    flowId: row.flow_id,
    workflowId: row.workflow_id,
    runId: row.run_id,
    seq: Number(row.seq),
    parentCheckpointId: row.parent_id,
    status: row.status as CheckpointStatus,
    tenantId: row.tenant_id,
    pendingInput: row.pending_input,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    body: row.body,
  };
}
