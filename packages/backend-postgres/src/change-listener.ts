import { once } from 'node:events';
import { BackendUnavailableError, type Logger } from '@savepoint/core';
import type pg from 'pg';

// Reconnection backoff: 100 ms, doubling, capped at 5 s, so a restarting server is not hammered and the
// listener is back within seconds of the server.
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

const ignore = () => undefined;

/**
 * The backend's LISTEN connection: one per backend instance, checked out of the pool on the first `subscribe`
 * and held (outside the pool's reach) until `close()`, which destroys it rather than returning a connection
 * that still listens. When the connection breaks, a new one is checked out with a bounded backoff and LISTEN
 * again; notifications sent in between are lost (they are hints: the runtime re-reads the storage).
 */
export class ChangeListener {
  private client: pg.PoolClient | undefined;
  private opening: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly connect: () => Promise<pg.PoolClient>,
    private readonly channel: string,
    private readonly onPayload: (payload: string) => void,
    private readonly logger: Logger,
  ) {}

  /** Resolves once LISTEN is in force on a live connection (opening one when needed). */
  async ready(): Promise<void> {
    if (this.closed) throw new BackendUnavailableError('This PostgresBackend was closed; create a new one to keep using the database.');
    if (this.client !== undefined) return;
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    await this.opening;
  }

  /** Stops reconnecting and ends the connection; resolves once it is closed. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.opening?.catch(ignore);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    const ended = once(client, 'end');
    client.release(true);
    await ended;
  }

  private async open(): Promise<void> {
    const client = await this.connect();
    client.on('notification', (notification) => {
      if (notification.channel === this.channel && notification.payload !== undefined) this.onPayload(notification.payload);
    });
    // A broken connection emits 'error' (without a listener, Node would end the process) and then 'end'.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.query(`LISTEN "${this.channel}"`);
      if (this.closed) throw new BackendUnavailableError('This PostgresBackend was closed while it opened its LISTEN connection.');
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.client = client;
    this.failures = 0;
  }

  private lost(client: pg.PoolClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    // Destroyed, never returned: the pool opens a fresh connection for its next caller.
    client.release(true);
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retry !== undefined) return;
    const delay = Math.min(FIRST_RETRY_MS * 2 ** this.failures, MAX_RETRY_MS);
    this.failures += 1;
    this.logger.warn(`The LISTEN connection for change notifications was lost; reconnecting in ${delay} ms.`, { backend: 'postgres', channel: this.channel });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.ready().catch(() => this.reconnect());
    }, delay);
    // Reconnecting alone does not keep the process alive; close() is how a user ends it.
    this.retry.unref();
  }
}
