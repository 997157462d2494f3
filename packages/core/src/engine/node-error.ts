import { SavepointError } from '../errors.js';
import type { NodeError } from '../models/checkpoint.js';

/** What a checkpoint records of a thrown value: name, message and code (never a stack trace). */
export function toNodeError(error: unknown): NodeError {
  if (error instanceof Error) {
    const code = SavepointError.isInstance(error) ? error.code : (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}
