import { CorruptCheckpointError, type InputRecord, type NewInputRecord } from '@savepoint/core';

/** What the inputs hash holds for a key; the run and the key are the hash and the field. */
interface StoredInput {
  nodePath: string;
  value: string;
  createdAt: number;
}

export function encodeInput(input: NewInputRecord): string {
  const stored: StoredInput = { nodePath: input.nodePath, value: input.value, createdAt: input.createdAt };
  return JSON.stringify(stored);
}

/**
 * An input from its stored JSON and its consumed marker (`<consumedAt> <consumer>`, or null). The consumer is
 * whatever follows the first space, so a consumer name may itself hold spaces.
 */
export function decodeInput(runId: string, key: string, json: string, marker: string | null): InputRecord {
  let stored: StoredInput;
  try {
    stored = JSON.parse(json) as StoredInput;
  } catch (cause) {
    throw new CorruptCheckpointError(`The input ${key} of run ${runId} is not valid JSON; it was not written by RedisBackend.`, { cause });
  }
  const space = marker === null ? -1 : marker.indexOf(' ');
  return {
    runId,
    key,
    nodePath: stored.nodePath,
    value: stored.value,
    createdAt: stored.createdAt,
    consumedBy: marker === null ? null : marker.slice(space + 1),
    consumedAt: marker === null ? null : Number(marker.slice(0, space)),
  };
}
