/**
 * Where Savepoint reports what happened besides a result: pino, winston, bunyan and `console` all fit.
 * Each method takes a message and optional structured fields (run ids, codes), so a JSON logger can
 * index them. Warnings and errors must never live only in a `RunResult`: a run that lost durability
 * says so here too.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const quiet = (): void => {};

// `console.warn(message, fields)` rather than a bound method: a user who stubs console later still sees it.
const toConsole =
  (method: 'warn' | 'error') =>
  (message: string, fields?: Record<string, unknown>): void => {
    if (fields === undefined) console[method](`[savepoint] ${message}`);
    else console[method](`[savepoint] ${message}`, fields);
  };

/** The default: warnings and errors on the console, debug and info silent (a library should not chatter). */
export const consoleLogger: Logger = Object.freeze({ debug: quiet, info: quiet, warn: toConsole('warn'), error: toConsole('error') });

/** Discards everything: for tests and for callers that read warnings from results only. */
export const silentLogger: Logger = Object.freeze({ debug: quiet, info: quiet, warn: quiet, error: quiet });
