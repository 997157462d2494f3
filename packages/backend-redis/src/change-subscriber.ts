import { BackendUnavailableError, checkChangeMessage, copyChangeMessage, type ChangeMessage, type Logger } from '@savepoint/core';
import { RECOMMENDED_CLIENT_OPTIONS, type RedisSubscriberLike } from './redis-client.js';
import { RedisConnection } from './redis-connection.js';

type Listener = (message: ChangeMessage) => void;

/** One Redis channel this instance subscribed to, and its local listeners. */
interface Subscription {
  readonly listeners: Set<Listener>;
  /** Settles when Redis confirmed the SUBSCRIBE. */
  readonly live: Promise<unknown>;
}

/**
 * The backend's pub/sub side, on a duplicate of its client: a client in subscriber mode can run nothing
 * else, so the client the backend (or the application) runs commands on never enters it. The duplicate is
 * made on the first `subscribe` and quit by `close()`. It keeps reconnecting with the recommended bounded
 * backoff whatever the original's `retryStrategy` (a subscriber that gave up would go deaf for good), and
 * ioredis re-subscribes its channels after each reconnection; messages published in between are lost.
 *
 * Each Redis channel is subscribed once, however many local listeners it has, and unsubscribed when its last
 * listener leaves; a message on a channel goes to that channel's listeners only.
 */
export class ChangeSubscriber {
  private connection: RedisConnection<RedisSubscriberLike> | undefined;
  private closed = false;
  private readonly subscriptions = new Map<string, Subscription>();

  /** `source`: the backend's command connection, whose client is duplicated. */
  constructor(
    private readonly source: RedisConnection,
    private readonly logger: Logger,
  ) {}

  /** Resolves once Redis confirmed the subscription to `redisChannel`. */
  async subscribe(redisChannel: string, listener: Listener): Promise<() => Promise<void>> {
    const connection = this.open();
    let subscription = this.subscriptions.get(redisChannel);
    if (subscription === undefined) {
      const live = connection.use('subscribe to changes', (client) => client.subscribe(redisChannel));
      subscription = { listeners: new Set(), live };
      this.subscriptions.set(redisChannel, subscription);
    }
    const current = subscription;
    // Its own entry: the same function subscribed twice is called twice, and each unsubscribe removes one.
    const entry: Listener = (message) => listener(message);
    current.listeners.add(entry);
    try {
      await current.live;
    } catch (error) {
      current.listeners.delete(entry);
      // Forget the failed SUBSCRIBE, so the next subscribe sends a new one.
      if (this.subscriptions.get(redisChannel) === current) this.subscriptions.delete(redisChannel);
      throw error;
    }
    return async () => {
      if (!current.listeners.delete(entry) || current.listeners.size > 0 || this.subscriptions.get(redisChannel) !== current) return;
      this.subscriptions.delete(redisChannel);
      // Best effort: when the connection is down, ioredis may re-subscribe the channel later, and its
      // messages then find no listener here.
      await connection.use('unsubscribe from changes', (client) => client.unsubscribe(redisChannel)).catch(() => undefined);
    };
  }

  /** Quits the duplicated client, waiting for its socket to close. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.subscriptions.clear();
    await connection?.close();
  }

  private open(): RedisConnection<RedisSubscriberLike> {
    if (this.closed) throw new BackendUnavailableError('This RedisBackend was closed; create a new one to keep using Redis.');
    if (this.connection !== undefined) return this.connection;
    const client = this.source.client.duplicate({
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: true,
      maxRetriesPerRequest: RECOMMENDED_CLIENT_OPTIONS.maxRetriesPerRequest,
      retryStrategy: RECOMMENDED_CLIENT_OPTIONS.retryStrategy,
    });
    // Failures reach subscribe() through its SUBSCRIBE; without a listener ioredis would log each one.
    client.on('error', () => undefined);
    client.on('message', (channel, text) => this.deliver(channel, text));
    this.connection = new RedisConnection(client, true, this.source.server, this.source.readyTimeoutMs);
    return this.connection;
  }

  private deliver(redisChannel: string, text: string): void {
    const subscription = this.subscriptions.get(redisChannel);
    if (subscription === undefined) return;
    let message: ChangeMessage;
    try {
      message = JSON.parse(text) as ChangeMessage;
      checkChangeMessage(message);
    } catch {
      return; // Not a change message (someone else published on the channel).
    }
    // A snapshot: a listener that unsubscribes (or subscribes) while being called changes the next message only.
    for (const listener of [...subscription.listeners]) {
      try {
        listener(copyChangeMessage(message));
      } catch (error) {
        // The others must still hear the change.
        this.logger.warn(`A change listener on ${redisChannel} threw (${error instanceof Error ? error.message : String(error)}); the other listeners were still called.`, {
          backend: 'redis',
          channel: redisChannel,
        });
      }
    }
  }
}
