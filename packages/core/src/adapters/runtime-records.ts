import { InvalidArgumentError } from '../errors.js';
import { assertSafeId } from '../store/safe-id.js';
import type { ChangeMessage, InputRecord, NewEventRecord, NewInputRecord } from '../store/storage-adapter.js';

// The runtime calls the event log, inbox and notification methods directly, not through the
// CheckpointStore, so every adapter checks their arguments itself. These checks live here once so that
// every backend refuses the same inputs with the same messages.

/** Default of the `maxEventsPerRun` option of the built-in adapters. */
export const DEFAULT_MAX_EVENTS_PER_RUN = 10_000;

const CHANGE_KINDS: ReadonlySet<string> = new Set(['event', 'input', 'checkpoint', 'lease']);

/** Validates the `maxEventsPerRun` option; returns the default when it is omitted. */
export function checkMaxEventsPerRun(value: number | undefined, adapter: string): number {
  if (value === undefined) return DEFAULT_MAX_EVENTS_PER_RUN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${adapter} option maxEventsPerRun must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

export function checkAppendEvents(runId: string, events: readonly NewEventRecord[]): void {
  assertSafeId(runId, 'runId');
  if (!Array.isArray(events)) throw new InvalidArgumentError('appendEvents: events must be an array.');
  for (const event of events) {
    if (
      typeof event !== 'object' ||
      event === null ||
      typeof event.type !== 'string' ||
      event.type.length === 0 ||
      typeof event.data !== 'string' ||
      !Number.isFinite(event.ts)
    ) {
      throw new InvalidArgumentError('appendEvents: every event needs a non-empty string type, string data (JSON text) and a finite ts.');
    }
  }
}

export function checkReadEvents(runId: string, afterSeq: number, limit: number | undefined): void {
  assertSafeId(runId, 'runId');
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new InvalidArgumentError(`readEvents: afterSeq must be a non-negative integer, got ${String(afterSeq)}.`);
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new InvalidArgumentError(`readEvents: limit must be a non-negative integer, got ${String(limit)}.`);
  }
}

export function checkPutInput(runId: string, input: NewInputRecord): void {
  assertSafeId(runId, 'runId');
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('putInput: input must be an object.');
  assertSafeId(input.key, 'input key');
  if (typeof input.nodePath !== 'string' || input.nodePath.length === 0 || typeof input.value !== 'string' || !Number.isFinite(input.createdAt)) {
    throw new InvalidArgumentError('putInput: the input needs a non-empty string nodePath, string value (JSON text) and a finite createdAt.');
  }
}

export function checkInputKey(runId: string, key: string): void {
  assertSafeId(runId, 'runId');
  assertSafeId(key, 'input key');
}

/** The consumer is recorded, never used in a path or key, so any non-empty string will do. */
export function checkTakeInputs(runId: string, consumer: string): void {
  assertSafeId(runId, 'runId');
  if (typeof consumer !== 'string' || consumer.length === 0) {
    throw new InvalidArgumentError('takeInputs: consumer must be a non-empty string naming the worker.');
  }
}

/** A channel is a runId or `*` (every run). */
export function checkChannel(channel: string): void {
  if (channel !== '*') assertSafeId(channel, 'channel');
}

export function checkChangeMessage(message: ChangeMessage): void {
  if (typeof message !== 'object' || message === null) throw new InvalidArgumentError('publish: message must be an object.');
  assertSafeId(message.runId, 'runId');
  if (!CHANGE_KINDS.has(message.kind)) {
    throw new InvalidArgumentError(`publish: kind must be one of ${[...CHANGE_KINDS].join(', ')}, got ${String(message.kind)}.`);
  }
  if (message.seq !== undefined && (!Number.isSafeInteger(message.seq) || message.seq < 1)) {
    throw new InvalidArgumentError(`publish: seq must be a positive integer when given, got ${String(message.seq)}.`);
  }
}

/** Inbox order: oldest first by `createdAt`, ties by key, so every backend returns the same order. */
export function compareInputs(a: InputRecord, b: InputRecord): number {
  return a.createdAt - b.createdAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The record `putInput` stores for a new input: the contract's fields only, not consumed yet. */
export function newInputRecord(runId: string, input: NewInputRecord): InputRecord {
  return { runId, key: input.key, nodePath: input.nodePath, value: input.value, createdAt: input.createdAt, consumedBy: null, consumedAt: null };
}

/** A copy holding exactly the contract's fields (drops whatever else a caller's object carried). */
export function copyChangeMessage(message: ChangeMessage): ChangeMessage {
  return message.seq === undefined ? { runId: message.runId, kind: message.kind } : { runId: message.runId, kind: message.kind, seq: message.seq };
}
