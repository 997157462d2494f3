import { usageError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `45s`, `2w` (or `0`) in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw])?$/.exec(text.trim());
  if (!match || (match[2] === undefined && Number(match[1]) !== 0)) {
    throw usageError(`${flag} takes a duration such as 30d, 12h, 90m, 45s or 2w; got "${text}".`);
  }
  return Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
}
