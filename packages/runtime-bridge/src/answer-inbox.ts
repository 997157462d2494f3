import type { CheckpointStore, InputRecord, NewInputRecord } from '@savepoint/core';

/**
 * How answers sit in the backend's inbox. Each answer is stored under a key derived from the question it
 * answers (its requestId): the inbox stores a key once, atomically, on every backend, so the first answer to a
 * question wins and any other is told apart by the client's idempotency key kept inside the record. Values
 * are sealed with the owning workflow's store (its redaction and encryption), like checkpoint state.
 */
export interface StoredAnswer {
  requestId: string;
  nodePath: string;
  value: unknown;
  /** The Idempotency-Key of the request that stored it: the same key again is a retry, another key a second answer. */
  idempotencyKey: string;
}

/** nodePath of a receipt: which questions an accepted request (by its Idempotency-Key) answered. */
export const RECEIPT_PATH = '$receipt';

const ANSWER_PREFIX = 'answer.';
const RECEIPT_PREFIX = 'receipt.';

export function answerKey(requestId: string): string {
  return `${ANSWER_PREFIX}${requestId}`;
}

export function receiptKey(idempotencyKey: string): string {
  return `${RECEIPT_PREFIX}${idempotencyKey}`;
}

export function sealAnswer(store: CheckpointStore, answer: StoredAnswer, createdAt: number): NewInputRecord {
  return {
    key: answerKey(answer.requestId),
    nodePath: answer.nodePath,
    value: store.sealPayload({ value: answer.value, idempotencyKey: answer.idempotencyKey }),
    createdAt,
  };
}

/** The answer a record holds, or undefined for records that are not answers (receipts, cancel requests). */
export function openAnswer(store: CheckpointStore, record: InputRecord): StoredAnswer | undefined {
  if (!record.key.startsWith(ANSWER_PREFIX)) return undefined;
  const { value, idempotencyKey } = store.openPayload(record.value) as { value: unknown; idempotencyKey: string };
  return { requestId: record.key.slice(ANSWER_PREFIX.length), nodePath: record.nodePath, value, idempotencyKey };
}

/** requestId by nodePath. */
export type Receipt = Record<string, string>;

export function sealReceipt(store: CheckpointStore, idempotencyKey: string, requestIds: Receipt, createdAt: number): NewInputRecord {
  return { key: receiptKey(idempotencyKey), nodePath: RECEIPT_PATH, value: store.sealPayload(requestIds), createdAt };
}

export function openReceipt(store: CheckpointStore, record: InputRecord): Receipt {
  return store.openPayload(record.value) as Receipt;
}
