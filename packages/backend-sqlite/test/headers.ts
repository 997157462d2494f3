import type { HeaderRecord } from '@savepoint/core';

/** A header record with sensible defaults; ids sort by the order tests create them. */
export function header(overrides: Partial<HeaderRecord> & Pick<HeaderRecord, 'id' | 'runId' | 'seq'>): HeaderRecord {
  return {
    flowId: 'flow-1',
    workflowId: null,
    parentCheckpointId: null,
    status: 'active',
    tenantId: null,
    pendingInput: false,
    createdAt: 1_000 + overrides.seq,
    updatedAt: 1_000 + overrides.seq,
    body: JSON.stringify({ seq: overrides.seq }),
    ...overrides,
  };
}
