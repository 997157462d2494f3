/** Where a command writes: stdout carries the result only (a table or JSON), stderr progress and errors. */
export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

export interface CliIo {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  /** Where `--module` and relative backend paths are resolved from. Default: the process's working directory. */
  cwd?: string;
}

export interface OutputOptions {
  json: boolean;
  /** true/false forced by --progress/--no-progress; undefined: shown when stderr is a terminal. */
  progress: boolean | undefined;
}

/** Writes a command's result as a table (humans) or as one JSON document (scripts), and its progress to stderr. */
export class Output {
  readonly json: boolean;
  private readonly showProgress: boolean;
  private progressLine = false;

  constructor(
    private readonly io: CliIo,
    options: OutputOptions,
  ) {
    this.json = options.json;
    // JSON piped into another program is read by a script: a terminal on stderr is then someone else's.
    this.showProgress = options.progress ?? (io.stderr.isTTY === true && !(options.json && io.stdout.isTTY !== true));
  }

  /** The result: `json` with --json, else the lines `human` returns. */
  result(json: unknown, human: () => string[]): void {
    this.endProgress();
    if (this.json) this.io.stdout.write(`${JSON.stringify(toPlain(json), null, 2)}\n`);
    else for (const line of human()) this.io.stdout.write(`${line}\n`);
  }

  /** One progress step; on a terminal it overwrites the previous one. */
  progress(message: string): void {
    if (!this.showProgress) return;
    if (this.io.stderr.isTTY === true) {
      this.io.stderr.write(`\r\x1b[2K${message}`);
      this.progressLine = true;
    } else {
      this.io.stderr.write(`${message}\n`);
    }
  }

  /** A warning a human should see even with --json (it never goes to stdout). */
  warn(message: string): void {
    this.endProgress();
    this.io.stderr.write(`warning: ${message}\n`);
  }

  private endProgress(): void {
    if (!this.progressLine) return;
    this.io.stderr.write('\n');
    this.progressLine = false;
  }
}

/** Left-aligned columns separated by two spaces; empty cells show as `-`. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string[] {
  const cells = [headers.map(String), ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * A decoded value as plain JSON data: Dates as ISO strings, Maps as objects (or entry lists when a key is not a
 * string), Sets as arrays, BigInts as strings, bytes as base64. What `--json` prints and what diffs compare.
 */
export function toPlain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Map) {
    const entries = [...value.entries()];
    return entries.every(([key]) => typeof key === 'string')
      ? Object.fromEntries(entries.map(([key, inner]) => [key, toPlain(inner)]))
      : entries.map(([key, inner]) => [toPlain(key), toPlain(inner)]);
  }
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = toPlain(inner);
    return out;
  }
  return value;
}

/** Stable text of a value (object keys sorted), so two decoded states compare equal when their data is. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(toPlain(value)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** A short one-line rendering of a value for tables. */
export function brief(value: unknown, max = 60): string {
  if (value === undefined) return '';
  const text = JSON.stringify(toPlain(value)) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function isoTime(value: Date | number | undefined): string {
  if (value === undefined) return '';
  return new Date(value).toISOString();
}
