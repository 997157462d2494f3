import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { read } from 'node:fs';
import { promisify } from 'node:util';
import type { BlobRecord } from '@savepoint/core';

/**
 * A pack: the blobs of one write in one file, so that they cost one fsync together instead of one each.
 *
 *     [prefix]            optional: the header of the checkpoint saved with these blobs (the file is also that header)
 *     <data>\n            each blob's data, one per line so `cat` shows them
 *     <index>\n           {"blobs":[[hash, start, length], ...]}: where each blob's bytes are, from the file's start
 *     <trailer>           fixed width: `savepoint-pack 1 <byte offset of the index, 16 digits>\n`
 *
 * A pack is written whole and fsynced before it gets a name readers list, and never changes afterwards.
 * A file whose trailer or index does not check out (a torn write on a file system that does not order data
 * before names) is no pack: its blobs are absent, so a writer stores them again.
 */
export interface PackEntry {
  hash: string;
  start: number;
  length: number;
}

export interface EncodedPack {
  text: string;
  entries: PackEntry[];
}

const TRAILER_PREFIX = 'savepoint-pack 1 ';
const OFFSET_WIDTH = 16;
const TRAILER_BYTES = TRAILER_PREFIX.length + OFFSET_WIDTH + 1;
const TRAILER = /^savepoint-pack 1 (\d{16})\n$/;

// Reads of at most this many bytes are synchronous (cheaper than a thread-pool hop); larger ones are not, so a
// big load does not hold the event loop.
const SYNC_READ_LIMIT = 256 * 1024;
// Blobs of one pack closer together than this are fetched with one read.
const READ_GAP = 4096;

const readAsync = promisify(read);

/** The file text of a pack holding `blobs` after `prefix` (a header, or '' for a pack of its own). */
export function encodePack(prefix: string, blobs: readonly BlobRecord[]): EncodedPack {
  let offset = Buffer.byteLength(prefix);
  const entries = blobs.map(({ hash, data }): PackEntry => {
    const entry = { hash, start: offset, length: Buffer.byteLength(data) };
    offset += entry.length + 1;
    return entry;
  });
  const index = `${JSON.stringify({ blobs: entries.map(({ hash, start, length }) => [hash, start, length]) })}\n`;
  const trailer = `${TRAILER_PREFIX}${String(offset).padStart(OFFSET_WIDTH, '0')}\n`;
  return { text: `${prefix}${blobs.map(({ data }) => `${data}\n`).join('')}${index}${trailer}`, entries };
}

/** The index of the pack at `path`; null when the file is not a whole pack. Throws ENOENT when it is gone. */
export function readPackIndex(path: string): PackEntry[] | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER_BYTES) return null;
    const trailer = TRAILER.exec(readAt(fd, size - TRAILER_BYTES, TRAILER_BYTES).toString('latin1'));
    const indexStart = trailer ? Number(trailer[1]) : -1;
    if (indexStart < 0 || indexStart > size - TRAILER_BYTES) return null;
    return parseIndex(readAt(fd, indexStart, size - TRAILER_BYTES - indexStart).toString('utf8'), indexStart);
  } finally {
    closeSync(fd);
  }
}

function parseIndex(text: string, indexStart: number): PackEntry[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const rows = (value as { blobs?: unknown } | null)?.blobs;
  if (!Array.isArray(rows)) return null;
  const entries: PackEntry[] = [];
  for (const row of rows) {
    const [hash, start, length] = Array.isArray(row) ? (row as unknown[]) : [];
    const valid = typeof hash === 'string' && Number.isSafeInteger(start) && Number.isSafeInteger(length);
    if (!valid || (start as number) < 0 || (length as number) < 0 || (start as number) + (length as number) > indexStart) return null;
    entries.push({ hash, start: start as number, length: length as number });
  }
  return entries;
}

/** Reads the data of `entries` from the pack at `path`. Throws ENOENT when the pack is gone. */
export async function readPackBlobs(path: string, entries: readonly PackEntry[]): Promise<Array<[string, string]>> {
  const fd = openSync(path, 'r');
  try {
    const found: Array<[string, string]> = [];
    for (const range of ranges(entries)) {
      const bytes = range.end - range.start <= SYNC_READ_LIMIT ? readAt(fd, range.start, range.end - range.start) : await readAtAsync(fd, range);
      for (const { hash, start, length } of range.entries) found.push([hash, bytes.toString('utf8', start - range.start, start - range.start + length)]);
    }
    return found;
  } finally {
    closeSync(fd);
  }
}

interface Range {
  start: number;
  end: number;
  entries: PackEntry[];
}

/** The entries grouped into runs of nearby bytes, each fetched with one read. */
function ranges(entries: readonly PackEntry[]): Range[] {
  const sorted = [...entries].sort((a, b) => a.start - b.start);
  const result: Range[] = [];
  for (const entry of sorted) {
    const last = result.at(-1);
    if (last !== undefined && entry.start - last.end <= READ_GAP) {
      last.end = Math.max(last.end, entry.start + entry.length);
      last.entries.push(entry);
    } else {
      result.push({ start: entry.start, end: entry.start + entry.length, entries: [entry] });
    }
  }
  return result;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

async function readAtAsync(fd: number, { start, end }: Range): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(end - start);
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await readAsync(fd, buffer, done, buffer.length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}
