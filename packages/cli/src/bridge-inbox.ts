import type { CheckpointStore, NewInputRecord, StorageAdapter } from '@savepoint/core';

// The runtime bridge's inbox records (see @savepoint/runtime-bridge answer-inbox.ts and inbox-channel.ts), written
// here so a CLI answer or cancel reaches a run without its workflow code. The CLI does not depend on the bridge
// at run time; a test delivers through a real bridge runtime, so a change of format there fails here.

/** nodePath of a record asking the run's current owner to cancel it. */
export const CANCEL_PATH = '$cancel';

/** An answer is stored under the id of the question it answers: the inbox stores a key once, so the first answer wins. */
export function answerRecord(store: CheckpointStore, answer: { requestId: string; nodePath: string; value: unknown; idempotencyKey: string }, createdAt: number): NewInputRecord {
  return {
    key: `answer.${answer.requestId}`,
    nodePath: answer.nodePath,
    value: store.sealPayload({ value: answer.value, idempotencyKey: answer.idempotencyKey }),
    createdAt,
  };
}

export function cancelRecord(key: string, createdAt: number): NewInputRecord {
  return { key: `cancel.${key}`, nodePath: CANCEL_PATH, value: 'null', createdAt };
}

/** Wakes a worker waiting on the run (Redis and PostgreSQL reach other processes; others poll). */
export async function notifyInput(adapter: StorageAdapter, runId: string): Promise<void> {
  await adapter.publish?.({ runId, kind: 'input' }).catch(() => undefined);
}

/** Appends an event to the run's log the way the bridge does, so event streams show what the CLI did. */
export async function appendEvent(adapter: StorageAdapter, store: CheckpointStore, runId: string, type: string, data: unknown): Promise<void> {
  if (!adapter.appendEvents) return;
  await adapter.appendEvents(runId, [{ type, data: store.sealPayload({ data }), ts: Date.now() }]);
  await adapter.publish?.({ runId, kind: 'event' }).catch(() => undefined);
}
