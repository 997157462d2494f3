// Browser-safe: no server code, no node: modules (see client.ts).
import type { SavepointErrorCode } from '@savepoint/core';
import type { ErrorIssue, RuntimeErrorCode } from './http-error.js';

/**
 * The server's error codes (core's and the runtime's), plus the client's own: `UNREACHABLE` (no answer: network,
 * DNS, CORS, an aborted request) and `UNEXPECTED_RESPONSE` (an answer that is not the runtime's, e.g. a proxy's 502 page).
 */
export type RuntimeClientErrorCode = SavepointErrorCode | RuntimeErrorCode | 'UNREACHABLE' | 'UNEXPECTED_RESPONSE';

/** A request the runtime refused (any non-2xx answer) or that got no answer (`status` 0). */
export class RuntimeClientError extends Error {
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly code: RuntimeClientErrorCode;
  /** What to fix, one entry per problem (`INVALID_RUN_INPUT`: `path` in the input; answers: `nodePath`); empty when the server listed none. */
  readonly issues: ErrorIssue[];
  /** Why a `NOT_FOUND` run is gone, when the server knows: `removed_by_retention`. */
  readonly reason: string | undefined;

  constructor(status: number, code: RuntimeClientErrorCode, message: string, details: { issues?: ErrorIssue[]; reason?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RuntimeClientError';
    this.status = status;
    this.code = code;
    this.issues = details.issues ?? [];
    this.reason = details.reason;
  }
}

/** The error a non-2xx response stands for: the runtime's `{ error: { code, message, issues?, reason? } }`, or a generic one. */
export async function errorFromResponse(response: Response, what: string): Promise<RuntimeClientError> {
  const body = (await response.json().catch(() => undefined)) as { error?: Partial<Record<string, unknown>> } | undefined;
  const error = body?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
    return new RuntimeClientError(response.status, 'UNEXPECTED_RESPONSE', `${what} got HTTP ${response.status} without a runtime error body; is the base URL the runtime's?`);
  }
  return new RuntimeClientError(response.status, error.code as RuntimeClientErrorCode, error.message, {
    ...(Array.isArray(error.issues) ? { issues: error.issues as ErrorIssue[] } : {}),
    ...(typeof error.reason === 'string' ? { reason: error.reason } : {}),
  });
}

/** A request that got no answer at all. */
export function unreachable(what: string, cause: unknown): RuntimeClientError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeClientError(0, 'UNREACHABLE', `${what} got no answer (${detail}); check the base URL and the network, then retry.`, { cause });
}
