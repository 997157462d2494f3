import { SavepointError } from '@savepoint/core';

/** What the process exit status means; scripts branch on it. */
export const EXIT = {
  ok: 0,
  /** The operation failed: corruption found, an answer refused, a run that failed or was canceled on resume... */
  failed: 1,
  /** The command line is wrong: unknown command or option, a bad backend URL, an argument that does not parse. */
  usage: 2,
  /** The run or checkpoint does not exist (or retention removed it). */
  notFound: 3,
  /** The backend cannot be reached, or its package is not installed. */
  backendUnavailable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type CliErrorCode = 'USAGE' | 'BACKEND_PACKAGE_MISSING' | 'NOT_FOUND' | 'OPERATION_FAILED' | 'INVALID_ANSWER' | 'CORRUPTION_FOUND';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  USAGE: EXIT.usage,
  BACKEND_PACKAGE_MISSING: EXIT.backendUnavailable,
  NOT_FOUND: EXIT.notFound,
  OPERATION_FAILED: EXIT.failed,
  INVALID_ANSWER: EXIT.failed,
  CORRUPTION_FOUND: EXIT.failed,
};

/** An error the CLI itself raises: its `code` is stable (printed with `--json`), its message says what to do. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;
  /** Extra fields for `--json` (e.g. the schema issues of a refused answer). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: CliErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = EXIT_OF[code];
    this.details = details;
  }

  static isInstance(error: unknown): error is CliError {
    return error instanceof CliError;
  }
}

export function usageError(message: string): CliError {
  return new CliError('USAGE', message);
}

/** Core's codes, as exit statuses: a missing run is 3, an unreachable backend 4, a refused argument 2. */
const SAVEPOINT_EXIT: Partial<Record<SavepointError['code'], ExitCode>> = {
  NOT_FOUND: EXIT.notFound,
  BACKEND_UNAVAILABLE: EXIT.backendUnavailable,
  INVALID_ARGUMENT: EXIT.usage,
};

/** The exit status and the stable code an error is reported with. */
export function classify(error: unknown): { exitCode: ExitCode; code: string; message: string; details?: Record<string, unknown> } {
  if (CliError.isInstance(error)) return { exitCode: error.exitCode, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  if (SavepointError.isInstance(error)) return { exitCode: SAVEPOINT_EXIT[error.code] ?? EXIT.failed, code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.failed, code: 'UNEXPECTED', message };
}
