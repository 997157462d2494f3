import { RemovedByRetentionError, SavepointError, type SavepointErrorCode } from '@savepoint/core';
import { toJson } from './json.js';

/** Codes the runtime adds to core's for transport-level refusals. */
export type RuntimeErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_DEEP'
  | 'INVALID_BODY'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** A refusal that belongs to HTTP itself (no core error describes it): 400, 401, 403, 405, 413, 415, 503. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * One problem of a refused request: `nodePath` names the question an answer was for (`INVALID_RESUME_INPUT`,
 * `INPUT_ALREADY_ANSWERED`), `path` the place in a run input that failed the workflow's inputSchema
 * (`INVALID_RUN_INPUT`: `topic`, `items.0.name`, `''` for the input itself).
 */
export interface ErrorIssue {
  message: string;
  nodePath?: string;
  path?: string;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    issues?: ErrorIssue[];
    /** Why a `NOT_FOUND` run is gone, when the server knows: retention removed it. */
    reason?: 'removed_by_retention';
  };
}

/** The one place where core's typed errors become HTTP statuses. */
const STATUS_BY_CODE: Partial<Record<SavepointErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  RUN_LOCKED: 409,
  CHECKPOINT_CONFLICT: 409,
  LEASE_LOST: 409,
  INPUT_ALREADY_ANSWERED: 409,
  UNSERIALIZABLE_STATE: 400,
  INVALID_RESUME_INPUT: 422,
  INVALID_RUN_INPUT: 422,
  BACKEND_UNAVAILABLE: 503,
};

const UNAVAILABLE_MESSAGE = 'The storage is unavailable right now; retry in a moment (the details were logged).';

/**
 * Status and JSON body for any error. Unknown errors become a generic 500 and server-side failures a 503 with a
 * generic message (both reported through `onUnexpected`): backend messages name files, schemas and hosts, and
 * no such detail, nor a stack trace, may reach a client.
 */
export function describeError(error: unknown, onUnexpected: (error: unknown) => void): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  if (SavepointError.isInstance(error)) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined && status >= 500) {
      onUnexpected(error);
      return { status, body: { error: { code: error.code, message: UNAVAILABLE_MESSAGE } } };
    }
    if (status !== undefined) {
      const issues = (error as { issues?: ErrorIssue[] }).issues;
      const reason = RemovedByRetentionError.isInstance(error) ? { reason: 'removed_by_retention' as const } : {};
      return { status, body: { error: { code: error.code, message: error.message, ...(issues?.length ? { issues } : {}), ...reason } } };
    }
  }
  onUnexpected(error);
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'The server failed to handle this request; it was logged.' } } };
}

export function errorResponse(error: unknown, onUnexpected: (error: unknown) => void): Response {
  const { status, body } = describeError(error, onUnexpected);
  return jsonResponse(status, body);
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(toJson(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
