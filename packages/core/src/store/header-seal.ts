import { timingSafeEqual } from 'node:crypto';
import { CorruptCheckpointError } from '../errors.js';
import { hashOf } from './blob-tree.js';
import type { BlobCipher } from './encryption.js';
import type { HeaderRecord } from './storage-adapter.js';

/**
 * Integrity of a whole `HeaderRecord`: its body ends with `"mac":"<43 base64url chars>"`, a digest of every
 * indexed field plus the rest of the body text. Without encryption the digest is SHA-256, which detects any
 * accidental change (bit rot, a truncated write, a buggy migration); with encryption it is HMAC-SHA256 under a
 * key derived from the encryption key named in the body (`k`), so someone with write access to the storage
 * but not the key cannot forge or re-sign a header. Blobs need nothing more: their hashes are in the body.
 *
 * The digest is the body's last member at a fixed length, so it is cut off textually: the bytes checked are
 * exactly the bytes stored, with no re-serialization that could hide a change.
 */
const MAC_KEY = ',"mac":"';
const MAC_CHARS = 43;
const SUFFIX_CHARS = MAC_KEY.length + MAC_CHARS + 2; // ,"mac":"…"}

type IndexedFields = Omit<HeaderRecord, 'body'>;

/** The body text of a header: `body` (a JSON object, given the key id `k` when encrypting) plus its digest. */
export function sealHeaderBody(fields: IndexedFields, body: Record<string, unknown>, cipher: BlobCipher | undefined): string {
  if (cipher) body.k = cipher.activeKeyId;
  const inner = JSON.stringify(body);
  const mac = digest(fields, inner, cipher, cipher?.activeKeyId)!;
  return `${inner.slice(0, -1)}${MAC_KEY}${mac}"}`;
}

/**
 * The parsed body of a header whose digest matches every field of the record; otherwise a
 * `CorruptCheckpointError` naming the checkpoint (also for a header without a digest: stripping it is tampering).
 */
export function openHeaderBody(record: HeaderRecord, cipher: BlobCipher | undefined): Record<string, unknown> {
  const what = `Checkpoint ${String(record.id)}`;
  const text = record.body;
  const cut = typeof text === 'string' ? text.length - SUFFIX_CHARS : -1;
  if (cut < 1 || text.slice(cut, cut + MAC_KEY.length) !== MAC_KEY || !text.endsWith('"}')) {
    throw new CorruptCheckpointError(`${what} is corrupt: its header has no integrity digest (tampered with, or written by a pre-release format).`);
  }
  const inner = `${text.slice(0, cut)}}`;
  let body: unknown;
  try {
    body = JSON.parse(inner);
  } catch {
    throw new CorruptCheckpointError(`${what} is corrupt: its header does not parse.`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CorruptCheckpointError(`${what} is corrupt: its header is malformed.`);
  }
  const keyId = (body as { k?: unknown }).k;
  if (cipher && typeof keyId !== 'string') {
    throw new CorruptCheckpointError(`${what} is corrupt: its header is not authenticated although this store encrypts (tampered with).`);
  }
  if (!cipher && keyId !== undefined) {
    throw new CorruptCheckpointError(
      `${what} is authenticated with an encryption key, but this store has no encryption keys configured: pass encryption.keys including '${String(keyId)}'.`,
    );
  }
  const expected = digest(record, inner, cipher, keyId as string | undefined);
  if (expected === undefined) {
    throw new CorruptCheckpointError(
      `${what} is authenticated with key '${String(keyId)}', which is not among the configured encryption keys: add that key to encryption.keys to read it.`,
    );
  }
  if (!sameDigest(expected, text.slice(cut + MAC_KEY.length, -2))) {
    throw new CorruptCheckpointError(`${what} is corrupt: its header does not match its integrity digest (tampered with or damaged).`);
  }
  return body as Record<string, unknown>;
}

function digest(fields: IndexedFields, inner: string, cipher: BlobCipher | undefined, keyId: string | undefined): string | undefined {
  const f = fields;
  // Every indexed field, typed as stored: "3" and 3, null and "", all differ.
  const data = `${JSON.stringify([
    f.id,
    f.flowId,
    f.workflowId,
    f.runId,
    f.seq,
    f.parentCheckpointId,
    f.status,
    f.tenantId,
    f.pendingInput,
    f.createdAt,
    f.updatedAt,
  ])}\n${inner}`;
  return cipher ? cipher.mac(data, keyId) : hashOf(data);
}

function sameDigest(expected: string, stored: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(stored, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
