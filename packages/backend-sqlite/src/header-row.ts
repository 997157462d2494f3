import type { CheckpointStatus, HeaderRecord } from '@savepoint/core';

/** Column list shared by every header SELECT, in the order `HeaderRow` expects. */
export const HEADER_COLUMNS =
  'id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body';

export interface HeaderRow {
  id: string;
  flow_id: string;
  workflow_id: string | null;
  run_id: string;
  seq: number;
  parent_id: string | null;
  status: string;
  tenant_id: string | null;
  pending_input: number;
  created_at: number;
  updated_at: number;
  body: string;
}

/** The values of an INSERT listing `HEADER_COLUMNS`, in that order (positional binding is the cheapest). */
export function toValues(header: HeaderRecord): unknown[] {
  return [
    header.id,
    header.flowId,
    header.workflowId,
    header.runId,
    header.seq,
    header.parentCheckpointId,
    header.status,
    header.tenantId,
    header.pendingInput ? 1 : 0,
    header.createdAt,
    header.updatedAt,
    header.body,
  ];
}

export function fromRow(row: HeaderRow): HeaderRecord {
  return {
    id: row.id,
    flowId: row.flow_id,
    workflowId: row.workflow_id,
    runId: row.run_id,
    seq: row.seq,
    parentCheckpointId: row.parent_id,
    status: row.status as CheckpointStatus,
    tenantId: row.tenant_id,
    pendingInput: row.pending_input === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    body: row.body,
  };
}
