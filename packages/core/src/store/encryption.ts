import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { CorruptCheckpointError, InvalidArgumentError } from '../errors.js';
import { EncryptionConfig } from '../models/checkpoint-config.js';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface KeyMaterial {
  id: string;
  key: Buffer;
  ivKey: Buffer;
  /** Authenticates headers (see `header-seal.ts`); derived, so the encryption key itself is never used twice. */
  macKey: Buffer;
}

/**
 * AES-256-GCM for blobs and header user data. Stored form: `enc:v1:<keyId>:<base64(iv | tag | ciphertext)>`.
 *
 * The IV is derived from the plaintext (HMAC-SHA256 under a key derived from the encryption key), so the same
 * plaintext under the same key always gives the same ciphertext. That is what keeps content addressing and
 * dedupe working with encryption on (same idea as AES-GCM-SIV); the cost is that an observer of the storage
 * can tell two blobs of one run are equal, which content addressing reveals anyway. The key id is
 * authenticated (additional data), and the first key encrypts while every configured key decrypts.
 */
export class BlobCipher {
  private readonly keys: KeyMaterial[];
  private readonly byId = new Map<string, KeyMaterial>();

  constructor(config: EncryptionConfig) {
    const parsed = EncryptionConfig.safeParse(config);
    if (!parsed.success) {
      throw new InvalidArgumentError(
        `Invalid encryption option: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.keys = parsed.data.keys.map(({ id, key }) => {
      const material = Buffer.from(key);
      return {
        id,
        key: material,
        ivKey: createHmac('sha256', material).update('savepoint:iv:v1').digest(),
        macKey: createHmac('sha256', material).update('savepoint:header-mac:v1').digest(),
      };
    });
    for (const key of this.keys) {
      if (this.byId.has(key.id)) throw new InvalidArgumentError(`Invalid encryption option: key id '${key.id}' is listed twice.`);
      this.byId.set(key.id, key);
    }
  }

  /** Id of the key new data is encrypted with. */
  get activeKeyId(): string {
    return this.keys[0]!.id;
  }

  /** HMAC-SHA256 (base64url) of `data` under key `keyId` (the active key when omitted); undefined for an unknown id. */
  mac(data: string, keyId = this.activeKeyId): string | undefined {
    const key = this.byId.get(keyId);
    return key && createHmac('sha256', key.macKey).update(data, 'utf8').digest('base64url');
  }

  seal(plain: string): string {
    const key = this.keys[0]!;
    const data = Buffer.from(plain, 'utf8');
    const iv = createHmac('sha256', key.ivKey).update(data).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.key, iv);
    cipher.setAAD(Buffer.from(`${PREFIX}${key.id}`, 'utf8'));
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    return `${PREFIX}${key.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Decrypts; `what` names the checkpoint/blob in error messages. */
  open(stored: string, what: string): string {
    const rest = stored.slice(PREFIX.length);
    const colon = rest.lastIndexOf(':');
    const keyId = colon > 0 ? rest.slice(0, colon) : '';
    const key = this.byId.get(keyId);
    if (!key) {
      throw new CorruptCheckpointError(
        `${what} is encrypted with key '${keyId}', which is not among the configured encryption keys (${this.keys
          .map((k) => `'${k.id}'`)
          .join(', ')}): add that key to encryption.keys to read it.`,
      );
    }
    const raw = Buffer.from(rest.slice(colon + 1), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new CorruptCheckpointError(`${what}: encrypted data is truncated.`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`${PREFIX}${keyId}`, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new CorruptCheckpointError(
        `${what} could not be decrypted with key '${keyId}' (wrong key material for that id, or tampered data).`,
        { cause: error },
      );
    }
  }
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** Returns the plaintext of stored data, decrypting when needed. */
export function openStored(stored: string, cipher: BlobCipher | undefined, what: string): string {
  if (!isSealed(stored)) return stored;
  if (!cipher) {
    const keyId = stored.slice(PREFIX.length, stored.lastIndexOf(':'));
    throw new CorruptCheckpointError(
      `${what} is encrypted with key '${keyId}' but this store has no encryption keys configured: pass encryption.keys including '${keyId}'.`,
    );
  }
  return cipher.open(stored, what);
}
