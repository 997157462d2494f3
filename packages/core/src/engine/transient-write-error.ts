import { BackendUnavailableError } from '../errors.js';

// Socket-level failures a custom adapter may let through untyped: the write may succeed when tried again.
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a failed checkpoint write is worth trying again: the backend was unreachable or the connection broke.
 * Conflicts, lost leases, a locked run and state that cannot be stored fail the same way every time.
 */
export function isTransientWriteError(error: unknown): boolean {
  if (BackendUnavailableError.isInstance(error)) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
