import { InvalidArgumentError } from '../errors.js';

// Ids end up in file paths, Redis keys and SQL: one strict alphabet keeps every backend safe from
// traversal and injection without each having to escape differently.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,256}$/;

export function isSafeId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID.test(id) && id !== '.' && id !== '..';
}

/** Throws `InvalidArgumentError` unless `id` is 1–256 characters of `[A-Za-z0-9._:-]` (and not `.`/`..`). */
export function assertSafeId(id: unknown, what: string): asserts id is string {
  if (isSafeId(id)) return;
  const shown = typeof id === 'string' ? JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id) : String(id);
  throw new InvalidArgumentError(
    `${what} ${shown} is not a valid id: use 1–256 characters of letters, digits, '.', '_', ':' or '-'.`,
  );
}
