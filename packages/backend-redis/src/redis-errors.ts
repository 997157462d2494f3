import { BackendUnavailableError, SavepointError } from '@savepoint/core';

// Connection-level failures from ioredis and Node sockets: the server could not be used right now.
const CONNECTION =
  /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Socket closed|socket hang up/;
// Redis error replies that mean "not now" rather than "this call was wrong".
const SERVER_BUSY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

function messageOf(error: unknown): string {
  return typeof error === 'object' && error !== null ? String((error as { message?: unknown }).message) : String(error);
}

/** Whether an ioredis failure means the server cannot be reached or used at the moment. */
export function isUnavailable(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  const message = messageOf(error);
  return name === 'MaxRetriesPerRequestError' || CONNECTION.test(message) || SERVER_BUSY.test(message);
}

/**
 * A `BackendUnavailableError` with the server (its URL, password masked) on its `location` property rather than in
 * its message, so error bodies and logs that show messages do not carry it.
 */
export function unavailable(message: string, server: string, cause?: unknown): BackendUnavailableError & { readonly location: string } {
  return Object.assign(new BackendUnavailableError(message, cause === undefined ? {} : { cause }), { location: server });
}

/**
 * Maps an ioredis failure to the typed error a user can act on. Typed Savepoint errors pass through;
 * anything unrecognised (a bug, a WRONGTYPE from a prefix shared with other data) is rethrown untouched.
 * A socket error's text names the server's address, so only its code goes into the message.
 */
export function toSavepointError(error: unknown, action: string, server: string): unknown {
  if (SavepointError.isInstance(error) || !isUnavailable(error)) return error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const reason = typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : messageOf(error);
  return unavailable(
    `Redis could not ${action} (${reason}): check that the server is running and reachable; the call can be retried once it is.`,
    server,
    error,
  );
}

/** A URL fit for messages: the password is masked. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the Redis URL given';
  }
}
