import { BackendUnavailableError } from '@savepoint/core';
import { SCRIPTS, type ScriptName } from './lua-scripts.js';
import type { RedisArgument, RedisClientLike, RedisPipelineLike } from './redis-client.js';
import { toSavepointError, unavailable } from './redis-errors.js';

type ScriptFunction = (...args: RedisArgument[]) => Promise<unknown>;

/**
 * One client as the backend uses it: scripts registered once, every call made on a ready connection within
 * a bounded wait, and every failure typed. Owns the client only when the backend created it.
 */
export class RedisConnection<C extends RedisClientLike = RedisClientLike> {
  private pending: Promise<unknown> | undefined;
  private closed = false;

  constructor(
    readonly client: C,
    private readonly owned: boolean,
    /** Where the server is, for the `location` of errors. */
    readonly server: string,
    readonly readyTimeoutMs: number,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition);
  }

  /** Runs `fn` once the connection is ready, and turns connection failures into `BackendUnavailableError`. */
  async use<T>(action: string, fn: (client: C) => Promise<T>): Promise<T> {
    try {
      await this.ready();
      return await fn(this.client);
    } catch (error) {
      throw toSavepointError(error, action, this.server);
    }
  }

  /** Runs a script registered by `defineCommand` (EVALSHA, EVAL the first time the server lacks it). */
  script(name: ScriptName, keys: readonly string[], args: readonly RedisArgument[]): Promise<unknown> {
    return (this.client as unknown as Record<ScriptName, ScriptFunction>)[name](...keys, ...args);
  }

  /** Queues a script on a pipeline. */
  static scriptIn(pipeline: RedisPipelineLike, name: ScriptName, keys: readonly string[], args: readonly RedisArgument[]): void {
    (pipeline as unknown as Record<ScriptName, ScriptFunction>)[name](...keys, ...args);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned) return;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    // QUIT is answered before the socket closes: wait for the end, so a closed backend holds no socket.
    await new Promise<void>((resolve) => {
      this.client.once('end', resolve);
      this.client.quit().catch(() => this.client.disconnect());
    });
  }

  private async ready(): Promise<void> {
    if (this.closed) {
      throw new BackendUnavailableError('This RedisBackend was closed; create a new one to keep using Redis.');
    }
    const { status } = this.client;
    if (status === 'ready') return;
    if (status === 'end') {
      throw unavailable(
        "The Redis client's connection has ended (quit, or its retryStrategy gave up); call client.connect() or pass a new client.",
        this.server,
      );
    }
    // Calls arriving together share one wait. A lazy client (`wait`) is connected; otherwise a
    // (re)connection is in progress and the call waits for it, within readyTimeoutMs.
    this.pending ??= (status === 'wait' ? this.client.connect() : this.untilReady()).finally(() => (this.pending = undefined));
    await this.pending;
  }

  /** Waits for a (re)connection in progress, at most `readyTimeoutMs`. */
  private untilReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        this.client.removeListener('ready', onReady);
        this.client.removeListener('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onEnd = () => settle(unavailable("The Redis client's connection ended while the backend waited for it.", this.server));
      const timer = setTimeout(
        () =>
          settle(
            unavailable(
              `Redis was not reachable within ${this.readyTimeoutMs} ms (client status: ${this.client.status}); check the server, or raise readyTimeoutMs.`,
              this.server,
            ),
          ),
        this.readyTimeoutMs,
      );
      this.client.once('ready', onReady);
      this.client.once('end', onEnd);
    });
  }
}
