import { fileURLToPath } from 'node:url';
import { usageError } from './errors.js';

export type BackendKind = 'sqlite' | 'file' | 'postgres' | 'redis';

/** Options that only some backends take (each is refused with the others). */
export interface BackendFlags {
  /** PostgreSQL schema. */
  schema?: string | undefined;
  /** PostgreSQL and SQLite table prefix. */
  tablePrefix?: string | undefined;
  /** Redis key prefix. */
  prefix?: string | undefined;
}

/** Which package and which constructor options a backend URL means. */
export interface BackendSpec {
  kind: BackendKind;
  /** The optional peer dependency holding the backend. */
  packageName: string;
  /** Its exported class. */
  className: string;
  options: Record<string, unknown>;
  /** The URL without a password, for messages. */
  display: string;
}

const PACKAGES: Record<BackendKind, { packageName: string; className: string }> = {
  sqlite: { packageName: '@savepoint/backend-sqlite', className: 'SqliteBackend' },
  file: { packageName: '@savepoint/backend-file', className: 'FileBackend' },
  postgres: { packageName: '@savepoint/backend-postgres', className: 'PostgresBackend' },
  redis: { packageName: '@savepoint/backend-redis', className: 'RedisBackend' },
};

const FORMS = 'sqlite:./app.db, file:./dir, postgres://user:pass@host:5432/db or redis://host:6379/0';

/** Which flags each backend takes: a flag meant for another backend is a mistake worth reporting. */
const FLAGS_OF: Record<BackendKind, ReadonlyArray<keyof BackendFlags>> = {
  sqlite: ['tablePrefix'],
  file: [],
  postgres: ['schema', 'tablePrefix'],
  redis: ['prefix'],
};

const FLAG_NAMES: Record<keyof BackendFlags, string> = { schema: '--schema', tablePrefix: '--table-prefix', prefix: '--prefix' };

/**
 * Maps a backend URL to a backend: `sqlite:<path>`, `file:<dir>` (or a `file:///` URL), `postgres://...` or
 * `postgresql://...`, `redis://...` or `rediss://...`. A usage error (exit 2) names the accepted forms.
 */
export function parseBackendUrl(url: string | undefined, flags: BackendFlags = {}): BackendSpec {
  if (url === undefined || url.trim() === '') {
    throw usageError(`No backend given: pass --backend <url> or set SAVEPOINT_BACKEND (${FORMS}).`);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const rest = url.slice((scheme?.length ?? 0) + 1);
  let kind: BackendKind;
  let options: Record<string, unknown>;
  let display = url;
  switch (scheme) {
    case 'sqlite':
      kind = 'sqlite';
      options = { path: nonEmpty(rest.replace(/^\/\/(?=\/|\.)/, ''), url, 'a database file') };
      break;
    case 'file':
      kind = 'file';
      options = { dir: rest.startsWith('//') ? fileUrlPath(url) : nonEmpty(rest, url, 'a directory') };
      break;
    case 'postgres':
    case 'postgresql':
      kind = 'postgres';
      display = withoutPassword(url);
      options = { connectionString: url };
      break;
    case 'redis':
    case 'rediss':
      kind = 'redis';
      display = withoutPassword(url);
      options = { url };
      break;
    default:
      throw usageError(`Unknown backend URL "${url}": use ${FORMS}.`);
  }
  for (const flag of Object.keys(FLAG_NAMES) as Array<keyof BackendFlags>) {
    if (flags[flag] === undefined) continue;
    if (!FLAGS_OF[kind].includes(flag)) throw usageError(`${FLAG_NAMES[flag]} does not apply to a ${kind} backend.`);
    options[flag] = flags[flag];
  }
  return { kind, ...PACKAGES[kind], options, display };
}

function nonEmpty(value: string, url: string, what: string): string {
  if (value === '') throw usageError(`The backend URL "${url}" names no ${what}: use ${FORMS}.`);
  return value;
}

function fileUrlPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw usageError(`The backend URL "${url}" is not a valid file URL (${(error as Error).message}); use file:./dir or file:///absolute/dir.`);
  }
}

/** The URL with its password replaced, so it can be printed. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    throw usageError(`The backend URL "${url.replace(/:[^:@/]*@/, ':***@')}" does not parse as a URL: use ${FORMS}.`);
  }
}
