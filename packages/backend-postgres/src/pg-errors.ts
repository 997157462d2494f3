import { BackendUnavailableError, InvalidArgumentError, SavepointError } from '@savepoint/core';

interface PgLikeError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
}

const fieldsOf = (error: unknown): PgLikeError => (typeof error === 'object' && error !== null ? (error as PgLikeError) : {});

/** The SQLSTATE of a server error (`23505`...), or undefined for anything else. */
export function sqlState(error: unknown): string | undefined {
  const { code } = fieldsOf(error);
  // Five digits and capitals, at least one digit (errno names such as EPIPE have none).
  return typeof code === 'string' && /^(?=.*\d)[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a server error names (unique violations). */
export function constraintOf(error: unknown): string | undefined {
  const { constraint } = fieldsOf(error);
  return typeof constraint === 'string' ? constraint : undefined;
}

// Socket-level failures: the server is down, unreachable, or the connection broke.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

const MISSING_HINT =
  'its schema, tables or functions were dropped after the backend created them; the next call creates whatever the migrations table no longer records (restore the rest from a backup)';

// SQLSTATEs meaning "the server cannot serve us right now" (or not with these credentials), not "this call was wrong".
const UNAVAILABLE_STATES: Record<string, string> = {
  '57P01': 'the server terminated the connection (admin shutdown or pg_terminate_backend)',
  '57P02': 'the server is in crash recovery',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has no connection slot left; lower the pool size or raise max_connections',
  '53100': 'the server disk is full',
  '53200': 'the server is out of memory',
  '3D000': 'the database does not exist; check the connection string',
  '28000': 'authentication failed; check the user and pg_hba.conf',
  '28P01': 'authentication failed; check the password',
  // The backend creates these on first use, so they were dropped afterwards; the next call runs the migrations again.
  '42P01': MISSING_HINT,
  '3F000': MISSING_HINT,
  '42883': MISSING_HINT,
};

/** Whether a server error says a table, schema or function of the backend does not exist (any more). */
export function isMissingObject(error: unknown): boolean {
  const state = sqlState(error);
  return state === '42P01' || state === '3F000' || state === '42883';
}

const UNREACHABLE = 'check that the server is running and reachable';

// What node-postgres and pg-pool say (as plain Errors without a code) when a connection cannot be had or broke.
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|connection (?:is )?closed|Connection closed|driver has already been destroyed|Postgres connection has been discarded/i;

/**
 * Maps a pg/Kysely failure to the typed error a user can act on. Typed Savepoint errors pass through;
 * anything unrecognised is rethrown untouched rather than mislabelled.
 */
export function toSavepointError(error: unknown, action: string): unknown {
  if (SavepointError.isInstance(error)) return error;
  const { code, message } = fieldsOf(error);
  const text = typeof message === 'string' ? message : String(error);
  const state = sqlState(error);
  if (state !== undefined) {
    if (state.startsWith('08') || state in UNAVAILABLE_STATES) {
      const hint = UNAVAILABLE_STATES[state] ?? 'the connection to the server failed';
      // The server's text (it names schemas, tables, databases and users) stays in `cause`.
      return new BackendUnavailableError(`PostgreSQL could not ${action} (SQLSTATE ${state}): ${hint}.`, { cause: error });
    }
    if (state === '22021' || state === '22P05') {
      return new InvalidArgumentError(
        `PostgreSQL could not ${action}: ${text}. PostgreSQL text cannot hold a NUL character (\\u0000); the store's codec escapes it, so only raw adapter calls can hit this.`,
        { cause: error },
      );
    }
    return error;
  }
  // A socket error's text names the server's address: only its code goes into the message, the rest stays in `cause`.
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new BackendUnavailableError(`PostgreSQL could not ${action} (${code}): ${UNREACHABLE}.`, { cause: error });
  }
  if (CONNECTION_MESSAGES.test(text)) {
    return new BackendUnavailableError(`PostgreSQL could not ${action} (${text}): ${UNREACHABLE}.`, { cause: error });
  }
  // Several addresses tried (localhost as ::1 and 127.0.0.1): Node reports an AggregateError.
  if (error instanceof AggregateError && error.errors.some((inner) => toSavepointError(inner, action) !== inner)) {
    const codes = [...new Set(error.errors.map((inner) => String(fieldsOf(inner).code ?? 'error')))];
    return new BackendUnavailableError(`PostgreSQL could not ${action} (${codes.join(', ')}): ${UNREACHABLE}.`, { cause: error });
  }
  return error;
}
