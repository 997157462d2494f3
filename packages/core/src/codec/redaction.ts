import { InvalidArgumentError } from '../errors.js';
import { RedactConfig } from '../models/checkpoint-config.js';
import type { RedactRules } from './codec.js';

/** Validates a `RedactConfig` and turns it into the rules `codec.encode` applies. */
export function compileRedaction(config: RedactConfig | undefined): RedactRules | undefined {
  if (config === undefined) return undefined;
  const parsed = RedactConfig.safeParse(config);
  if (!parsed.success) {
    throw new InvalidArgumentError(`Invalid redact option: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { keys, patterns } = parsed.data;
  if (keys.length === 0 && patterns.length === 0) return undefined;
  return { keys: new Set(keys.map((k) => k.toLowerCase())), patterns: [...patterns] };
}
