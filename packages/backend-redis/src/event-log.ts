import { CorruptCheckpointError, type EventRecord, type NewEventRecord } from '@savepoint/core';

/** A stream entry as XRANGE returns it: `<seq>-0` and its field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The script's arguments after the run TTL and the limit: type, data, ts of each event, in order. */
export function eventArguments(events: readonly NewEventRecord[]): string[] {
  return events.flatMap((event) => [event.type, event.data, String(event.ts)]);
}

export function fromStreamEntry(runId: string, [id, fields]: StreamEntry): EventRecord {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
  const type = values.get('type');
  const data = values.get('data');
  const ts = values.get('ts');
  if (type === undefined || data === undefined || ts === undefined) {
    throw new CorruptCheckpointError(`The event ${id} of run ${runId} lacks a type, data or ts field; it was not written by RedisBackend.`);
  }
  return { runId, seq: Number.parseInt(id, 10), type, data, ts: Number(ts) };
}
