import { Redis } from 'ioredis';

export type RedisArgument = string | number | Buffer;

/** The part of an ioredis pipeline the backend uses. */
export interface RedisPipelineLike {
  call(command: string, ...args: RedisArgument[]): unknown;
  exec(): Promise<Array<[error: Error | null, result: unknown]> | null>;
}

/**
 * The part of an ioredis `Redis` client the backend uses, typed structurally so a client from another copy
 * or version of ioredis (5 or 6) is accepted as it is.
 */
export interface RedisClientLike {
  /** ioredis connection status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  readonly options?: { keyPrefix?: string | undefined };
  readonly isCluster?: boolean;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  call(command: string, ...args: RedisArgument[]): Promise<unknown>;
  pipeline(): RedisPipelineLike;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  removeListener(event: 'ready' | 'end', listener: () => void): unknown;
  /** A new client with this one's options (server, credentials, TLS, db), overridden by `override`. */
  duplicate(override?: DuplicateOptions): RedisSubscriberLike;
}

/** The ioredis options the backend overrides on the client it duplicates for pub/sub. */
export interface DuplicateOptions {
  lazyConnect?: boolean;
  enableOfflineQueue?: boolean;
  autoResubscribe?: boolean;
  maxRetriesPerRequest?: number | null;
  retryStrategy?: (attempt: number) => number | null;
}

/** A client as the backend's change subscriber uses it: in subscriber mode, it runs nothing else. */
export interface RedisSubscriberLike extends RedisClientLike {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Options of the clients the backend creates from a URL, recommended for clients you pass in: a call never hangs. No offline queue (a command is
 * sent only on a ready connection, so a failed call never runs later behind the caller's back), one retry of
 * a command caught by a disconnect, a 5 s connect timeout, a 10 s command timeout, and reconnection with a
 * backoff capped at 2 s so the backend recovers by itself when the server comes back.
 */
export const RECOMMENDED_CLIENT_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  commandTimeout: 10_000,
  retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
  // ioredis arms this timer even for a socket that is already gone (closing a client that never connected),
  // and it holds the process open: keep it short. A live connection is closed with QUIT, which never waits on it.
  disconnectTimeout: 500,
} as const;

export function createRedisClient(url: string): RedisClientLike {
  const client = new Redis(url, RECOMMENDED_CLIENT_OPTIONS);
  // Failures reach callers through their commands; without a listener ioredis would also log each one.
  client.on('error', () => undefined);
  return client;
}
