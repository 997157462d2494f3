import { CorruptCheckpointError, type HeaderRecord } from '@savepoint/core';

/** The stored form of a header: its fields as JSON (scripts read `pendingInput` from it with cjson). */
export function encodeHeader(header: HeaderRecord): string {
  const record: HeaderRecord = {
    id: header.id,
    flowId: header.flowId,
    workflowId: header.workflowId,
    runId: header.runId,
    seq: header.seq,
    parentCheckpointId: header.parentCheckpointId,
    status: header.status,
    tenantId: header.tenantId,
    pendingInput: header.pendingInput,
    createdAt: header.createdAt,
    updatedAt: header.updatedAt,
    body: header.body,
  };
  return JSON.stringify(record);
}

export function decodeHeader(json: string, where: string): HeaderRecord {
  try {
    return JSON.parse(json) as HeaderRecord;
  } catch (cause) {
    throw new CorruptCheckpointError(`The checkpoint header stored at ${where} is not valid JSON; restore it from a backup or delete the checkpoint.`, {
      cause,
    });
  }
}
