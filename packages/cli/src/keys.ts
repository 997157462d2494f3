import type { EncryptionConfig } from '@savepoint/core';
import { usageError } from './errors.js';

/**
 * The encryption keys named by `--key-env NAME` (repeatable): each variable holds one or more comma-separated
 * `<keyId>:<base64 of 32 bytes>`. The first key is the one that encrypts (what `answer` and `cancel` write);
 * every key decrypts, so rotated keys keep older checkpoints readable. Keys never come from the command line
 * itself, where they would land in shell history and process listings.
 */
export function encryptionFromEnv(names: readonly string[], env: NodeJS.ProcessEnv): EncryptionConfig | undefined {
  if (names.length === 0) return undefined;
  const keys: EncryptionConfig['keys'] = [];
  for (const name of names) {
    const value = env[name];
    if (value === undefined || value.trim() === '') throw usageError(`--key-env ${name}: the environment variable ${name} is not set.`);
    for (const entry of value.split(',')) {
      const match = /^\s*([^:\s]{1,64}):(\S+)\s*$/.exec(entry);
      const key = match ? Buffer.from(match[2]!, 'base64') : undefined;
      if (!match || key!.length !== 32) {
        throw usageError(`--key-env ${name}: each key must read <keyId>:<base64 of 32 bytes> (e.g. k1:$(openssl rand -base64 32)).`);
      }
      keys.push({ id: match[1]!, key: new Uint8Array(key!) });
    }
  }
  return { keys };
}
