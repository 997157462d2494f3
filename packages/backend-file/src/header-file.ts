import { closeSync, openSync, readSync } from 'node:fs';
import { CorruptCheckpointError, type HeaderRecord } from '@savepoint/core';
import { isMissing } from './fs-errors.js';

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

// The pretty JSON of a header ends at its only line that is a bare `}`: nested values are indented and strings
// hold no raw newline. The blobs saved with the header may follow it in the same file (pack-file.ts).
const HEADER_END = Buffer.from('\n}\n');
const FIRST_READ = 16 * 1024;

/**
 * The header stored in the file at `path`, reading no further than its end; null when the file is missing. With
 * `indexLink`, `path` is a link of `ids/` or `flows/`, made before the header's bytes were fsynced: a file that is
 * empty or starts with a zero byte (what a crash leaves of bytes not fsynced) was never committed, so it reads as
 * missing too.
 */
export function readHeaderFile(path: string, { indexLink = false } = {}): HeaderRecord | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  try {
    let bytes = Buffer.alloc(0);
    for (let chunk = FIRST_READ; ; chunk *= 2) {
      const buffer = Buffer.allocUnsafe(chunk);
      const n = readSync(fd, buffer, 0, chunk, bytes.length);
      bytes = Buffer.concat([bytes, buffer.subarray(0, n)]);
      if (indexLink && (bytes.length === 0 || bytes[0] === 0)) return null;
      const end = bytes.indexOf(HEADER_END, Math.max(0, bytes.length - n - HEADER_END.length));
      if (end !== -1) return parseHeader(bytes.toString('utf8', 0, end + 2), path);
      if (n === 0) return parseHeader(bytes.toString('utf8'), path);
    }
  } finally {
    closeSync(fd);
  }
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
