import { CorruptCheckpointError, type SavepointError } from '../errors.js';

/**
 * How a listing or a cleanup treats a header that fails its integrity check. Without `onCorrupt` it throws that
 * `CorruptCheckpointError` (naming the checkpoint): nothing disappears silently. With it, the checkpoint is left
 * out of the answer (and never deleted by a cleanup), `onCorrupt` gets the error, and the call carries on.
 */
export interface CorruptOption {
  onCorrupt?: (error: SavepointError) => void;
}

/** `read(item)` for each item; a corrupt one throws, or is reported to `onCorrupt` and left out. */
export function readIntact<T, R>(items: readonly T[], options: CorruptOption, read: (item: T) => R): R[] {
  const out: R[] = [];
  for (const item of items) {
    try {
      out.push(read(item));
    } catch (error) {
      if (!options.onCorrupt || !CorruptCheckpointError.isInstance(error)) throw error;
      options.onCorrupt(error);
    }
  }
  return out;
}
