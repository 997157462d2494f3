import { CorruptCheckpointError, type HeaderRecord } from '@savepoint/core';

// Zero-padded so that a plain directory listing sorts a run's headers by seq.
const SEQ_WIDTH = 16;
const HEADER_NAME = /^(\d{16})-(.+)\.json$/;

export function headerFileName(seq: number, id: string): string {
  return `${String(seq).padStart(SEQ_WIDTH, '0')}-${id}.json`;
}

export function parseHeaderFileName(name: string): { seq: number; id: string } | null {
  const match = HEADER_NAME.exec(name);
  return match ? { seq: Number(match[1]), id: match[2]! } : null;
}

/**
 * Pretty JSON with `body` inlined as an object so a person can read a checkpoint with `cat`. The body
 * is opaque to adapters and must come back byte for byte, so it is inlined only when re-serializing it
 * reproduces the exact text; otherwise it is kept as a string under `bodyText`.
 */
export function serializeHeader(header: HeaderRecord): string {
  const { body, ...fields } = header;
  const parsed = tryParse(body);
  const readable = parsed.ok && JSON.stringify(parsed.value) === body ? { ...fields, body: parsed.value } : { ...fields, bodyText: body };
  return `${JSON.stringify(readable, null, 2)}\n`;
}

export function parseHeader(text: string, where: string): HeaderRecord {
  const parsed = tryParse(text);
  const value = parsed.ok ? (parsed.value as Record<string, unknown>) : null;
  if (value === null || typeof value !== 'object' || typeof value.id !== 'string' || typeof value.runId !== 'string') {
    throw new CorruptCheckpointError(`The checkpoint header ${where} is not valid JSON; restore it from a backup or delete it.`);
  }
  const { body, bodyText, ...fields } = value;
  return { ...(fields as Omit<HeaderRecord, 'body'>), body: typeof bodyText === 'string' ? bodyText : JSON.stringify(body) };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Head order: higher seq wins; equal seqs (only concurrent writers without CAS make them) go to the higher id. */
export function isAbove(candidate: { id: string; seq: number }, head: { id: string; seq: number }): boolean {
  return candidate.seq > head.seq || (candidate.seq === head.seq && candidate.id > head.id);
}
