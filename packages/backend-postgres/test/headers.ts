import type { HeaderRecord } from '@savepoint/core';

/** A header with every required field; tests override what they exercise. */
export function header(overrides: Partial<HeaderRecord> & Pick<HeaderRecord, 'id' | 'runId' | 'seq'>): HeaderRecord {
  return {
    flowId: 'flow-1',
    workflowId: null,
    parentCheckpointId: null,
    status: 'active',
    tenantId: null,
    pendingInput: false,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    body: '{}',
    ...overrides,
  };
}
