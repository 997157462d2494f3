import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { uuidv7 } from '@savepoint/core';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { EventLog, FollowTarget } from './event-log.js';
import { describeError } from './http-error.js';
import { toJson } from './json.js';
import { toRequest } from './node-adapter.js';
import type { Principal } from './principal.js';
import { parseJsonText } from './request-body.js';
import { answersOf, ClientMessage, parse } from './request-schemas.js';
import type { RunService } from './run-service.js';

export interface WebSocketGatewayOptions {
  service: RunService;
  events: EventLog;
  authenticate: (request: Request) => Promise<Principal>;
  heartbeatMs: number;
  maxPayloadBytes: number;
  /** Deepest nesting accepted in a message. */
  maxDepth: number;
  /** Resolves once the backend is set up; awaited before a message touches storage. */
  ready: () => Promise<void>;
  onError: (error: unknown, context: string) => void;
}

export interface AttachOptions {
  /** Upgrades on other paths are left to other handlers. Default `/ws`. */
  path?: string;
}

/**
 * The WebSocket side of the runtime (`ws`): a client subscribes to runs from a sequence number and
 * receives the same envelopes as SSE; it can send answers (acknowledged with their idempotency key).
 * The upgrade is authenticated by the same `auth` hook (browsers cannot set headers on a WebSocket, so
 * a hook may read a cookie or a `?token=`). Dead peers are found by ping/pong and dropped.
 */
export class WebSocketGateway {
  private readonly attached: Array<{ server: Server; wss: WebSocketServer; onUpgrade: (...args: any[]) => void }> = [];
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly options: WebSocketGatewayOptions) {}

  get connections(): number {
    return this.sockets.size;
  }

  attach(server: Server, { path = '/ws' }: AttachOptions = {}): void {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxPayloadBytes });
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return;
      void this.upgrade(wss, req, socket, head);
    };
    server.on('upgrade', onUpgrade);
    this.attached.push({ server, wss, onUpgrade });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.close(1001, 'server shutting down');
    for (const { server, wss, onUpgrade } of this.attached.splice(0)) {
      server.off('upgrade', onUpgrade);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    for (const socket of this.sockets) socket.terminate();
  }

  private async upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    let principal: Principal;
    try {
      principal = await this.options.authenticate(toRequest(req, new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`)));
    } catch (error) {
      const { status, body } = describeError(error, (e) => this.options.onError(e, 'authenticating a WebSocket'));
      const text = toJson(body);
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, principal));
  }

  private connected(ws: WebSocket, principal: Principal): void {
    this.sockets.add(ws);
    const subscriptions = new Map<string, AbortController>();
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.options.heartbeatMs);
    ws.on('message', (data: RawData, isBinary: boolean) => void this.onMessage(ws, principal, subscriptions, data, isBinary));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearInterval(ping);
      for (const controller of subscriptions.values()) controller.abort();
      subscriptions.clear();
      this.sockets.delete(ws);
    });
  }

  private async onMessage(ws: WebSocket, principal: Principal, subscriptions: Map<string, AbortController>, data: RawData, isBinary: boolean): Promise<void> {
    const { service } = this.options;
    let runId: string | undefined;
    try {
      const message = parse(ClientMessage, parseJsonText(isBinary ? '' : rawText(data), this.options.maxDepth), 'message');
      runId = message.runId;
      await this.options.ready();
      if (message.type === 'subscribe') {
        const target = await service.open(principal, message.runId);
        subscriptions.get(message.runId)?.abort();
        const controller = new AbortController();
        subscriptions.set(message.runId, controller);
        void this.stream(ws, target, message.after ?? 0, controller.signal);
      } else if (message.type === 'unsubscribe') {
        subscriptions.get(message.runId)?.abort();
        subscriptions.delete(message.runId);
      } else {
        const idempotencyKey = message.idempotencyKey ?? uuidv7();
        await service.postInput(principal, message.runId, answersOf(message), idempotencyKey);
        send(ws, { type: 'ack', runId: message.runId, idempotencyKey });
      }
    } catch (error) {
      const { body } = describeError(error, (e) => this.options.onError(e, 'handling a WebSocket message'));
      send(ws, { type: 'error', ...(runId === undefined ? {} : { runId }), ...body.error });
    }
  }

  private async stream(ws: WebSocket, target: FollowTarget, after: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const envelope of this.options.events.follow(target, after, signal)) send(ws, envelope);
    } catch (error) {
      this.options.onError(error, `streaming run ${target.publicId} over a WebSocket`);
    }
  }
}

function send(ws: WebSocket, message: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(toJson(message));
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
