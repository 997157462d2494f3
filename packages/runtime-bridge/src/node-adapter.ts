import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { toJson } from './json.js';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export interface NodeAdapterOptions {
  /** Whether the path is the runtime's; others go to `next` (Express) or get a 404. */
  owns: (pathname: string) => boolean;
  onError: (error: unknown, context: string) => void;
}

/**
 * Serves a Web-standard handler from `node:http` (and Express, as middleware). The response body is
 * written with backpressure, and a client that disconnects aborts the request's signal and cancels the
 * body, which ends an event stream and releases its subscription and timers.
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>, options: NodeAdapterOptions): NodeHandler {
  return (req, res, next) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    } catch {
      url = new URL('http://localhost/');
    }
    if (next && !options.owns(url.pathname)) {
      next();
      return;
    }
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    handler(toRequest(req, url, gone.signal))
      .then((response) => writeResponse(response, res, gone.signal))
      .catch((error: unknown) => {
        options.onError(error, 'writing a response');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(res.headersSent ? undefined : toJson({ error: { code: 'INTERNAL', message: 'The server failed to handle this request.' } }));
      });
  };
}

/** A Web Request for a Node request; a body an Express parser already consumed is re-encoded as JSON. */
export function toRequest(req: IncomingMessage, url: URL, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, ...(signal ? { signal } : {}) };
  if (method !== 'GET' && method !== 'HEAD') {
    const parsed = (req as IncomingMessage & { body?: unknown }).body;
    if (parsed !== undefined && req.readableEnded) {
      headers.delete('content-length');
      init.body = typeof parsed === 'string' || Buffer.isBuffer(parsed) ? parsed : JSON.stringify(parsed);
    } else {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
  }
  return new Request(url, init);
}

async function writeResponse(response: Response, res: ServerResponse, gone: AbortSignal): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  gone.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || gone.aborted) break;
      if (!res.write(value)) await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        gone.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  } finally {
    gone.removeEventListener('abort', cancel);
    if (gone.aborted) cancel();
    res.end();
  }
}
