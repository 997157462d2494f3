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

export function toRow(header: HeaderRecord): HeaderRow {
  return {
    id: header.id,
    flow_id: header.flowId,
    workflow_id: header.workflowId,
    run_id: header.runId,
    seq: header.seq,
    parent_id: header.parentCheckpointId,
    status: header.status,
    tenant_id: header.tenantId,
    pending_input: header.pendingInput ? 1 : 0,
    created_at: header.createdAt,
    updated_at: header.updatedAt,
    body: header.body,
  };
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
