import type { Codec, JsonValue, RedactRules } from '../codec/codec.js';
import { CorruptCheckpointError } from '../errors.js';
import { isSealed, openStored, type BlobCipher } from './encryption.js';

/**
 * Seals values that Savepoint persists outside checkpoints (the runtime bridge's event log and input inbox)
 * exactly as a checkpoint's state is sealed: redaction, the store's codec, then the store's cipher.
 *
 * Plain codec JSON always starts with a JSON token (`{`, `"`, a digit...), never with the cipher's `enc:` prefix,
 * so the two stored forms cannot be confused.
 */
export class PayloadSeal {
  constructor(
    private readonly codec: Codec,
    private readonly redact: RedactRules | undefined,
    private readonly cipher: BlobCipher | undefined,
  ) {}

  seal(value: unknown): string {
    const text = JSON.stringify(this.codec.encode(value, { path: 'payload', redact: this.redact }));
    return this.cipher ? this.cipher.seal(text) : text;
  }

  open(text: string): unknown {
    if (typeof text !== 'string') throw new CorruptCheckpointError('Payload is corrupt: stored payloads are strings.');
    if (this.cipher && !isSealed(text)) {
      // An attacker with write access to the storage could otherwise plant plaintext that the store would trust.
      throw new CorruptCheckpointError(
        'Payload is not encrypted although this store encrypts: it was tampered with, or written before encryption was configured.',
      );
    }
    const plain = openStored(text, this.cipher, 'Payload');
    let json: JsonValue;
    try {
      json = JSON.parse(plain) as JsonValue;
    } catch (error) {
      throw new CorruptCheckpointError('Payload is corrupt: it does not parse as JSON.', { cause: error });
    }
    try {
      return this.codec.decode(json, { path: 'payload' });
    } catch (error) {
      if (CorruptCheckpointError.isInstance(error)) throw error;
      throw new CorruptCheckpointError(`Payload is corrupt: ${(error as Error).message}`, { cause: error });
    }
  }
}
