import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * `HEAD` is a cache of "the highest seq in `headers/`", which the headers directory can always rebuild.
 *
 * Where the kernel exposes a boot id (Linux), `HEAD` is written without fsync and stamped with that id:
 * page-cache contents survive any process crash and are lost only when the machine goes down, which also
 * changes the boot id. So a `HEAD` stamped with the current boot id is exactly as fresh as the last write;
 * any other (older boot, missing, torn) is ignored and rebuilt from the directory. Without a boot id, `HEAD`
 * is fsynced like any other file and carries no stamp.
 *
 * An unsynced `HEAD` is overwritten in place, padded to a fixed width (creating a file per commit costs as much
 * as an fsync on some file systems). A reader racing that write may see a mix of old and new bytes, so the
 * pointer carries a checksum: a torn one fails it and is rebuilt like any other untrusted `HEAD`.
 */
export interface HeadPointer {
  id: string;
  seq: number;
  /** Boot id of the machine when the pointer was written unsynced; absent when it was fsynced. */
  boot?: string;
  /** Checksum of the other fields, present with `boot`. */
  sum?: string;
}

/** Width an unsynced `HEAD` is padded to: ids are at most 256 characters, so every pointer fits. */
export const HEAD_WIDTH = 512;

function checksum(id: string, seq: number, boot: string): string {
  return createHash('sha256').update(`${id}\n${seq}\n${boot}`).digest('base64url').slice(0, 16);
}

/** The text of `HEAD`: stamped, checksummed and padded where unsynced, plain where fsynced. */
export function formatHeadPointer(head: { id: string; seq: number }, boot: string | null): string {
  if (boot === null) return `${JSON.stringify({ id: head.id, seq: head.seq })}\n`;
  const text = JSON.stringify({ id: head.id, seq: head.seq, boot, sum: checksum(head.id, head.seq, boot) });
  return `${text}\n`.padEnd(HEAD_WIDTH, ' ');
}

let bootId: string | null | undefined;

/** The current boot id, or null where the platform has none (read once per process). */
export function currentBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** The pointer `HEAD` holds, or null when it cannot be trusted (torn, malformed, or from an earlier boot). */
export function parseHeadPointer(text: string): HeadPointer | null {
  let value: Partial<HeadPointer> | null;
  try {
    value = JSON.parse(text) as Partial<HeadPointer> | null;
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || typeof value.id !== 'string' || typeof value.seq !== 'number') return null;
  if (value.boot !== undefined && (value.boot !== currentBootId() || value.sum !== checksum(value.id, value.seq, value.boot))) return null;
  return { id: value.id, seq: value.seq };
}

/** Head order: higher seq wins; equal seqs (only concurrent writers without CAS make them) go to the higher id. */
export function isAbove(candidate: { id: string; seq: number }, head: { id: string; seq: number }): boolean {
  return candidate.seq > head.seq || (candidate.seq === head.seq && candidate.id > head.id);
}
