import { InvalidArgumentError } from '@savepoint/core';
import { HttpError } from './http-error.js';

export interface BodyLimits {
  maxBodyBytes: number;
  /** Deepest nesting of arrays/objects accepted, counted before parsing. */
  maxBodyDepth: number;
}

/**
 * `application/json` with optional parameters (`; charset=utf-8`). Anything else is refused, so a browser on
 * another site cannot reach these routes with a simple request (a form post, `text/plain`, a body-less
 * `no-cors` fetch), which would carry a cookie-authenticated user's credentials without a CORS preflight.
 */
export function requireJsonContentType(request: Request): void {
  const type = (request.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request with Content-Type: application/json (also when the body is empty).');
  }
}

/**
 * The body as JSON (empty -> undefined): refused past `maxBodyBytes` (413) whatever Content-Length claims, and
 * past `maxBodyDepth` (400 `BODY_TOO_DEEP`) before `JSON.parse` or anything after it recurses into it. A body
 * that cannot be read (the client went away mid-upload) is a client problem, not a server error.
 */
export async function readJsonBody(request: Request, limits: BodyLimits): Promise<unknown> {
  const { maxBodyBytes } = limits;
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes.`);
  if (Number(request.headers.get('content-length') ?? 0) > maxBodyBytes) throw tooLarge();
  if (!request.body) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      throw new HttpError(400, 'INVALID_BODY', 'The request body could not be read to its end; send it again.');
    }
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  return parseJsonText(new TextDecoder().decode(Buffer.concat(chunks)), limits.maxBodyDepth);
}

/** JSON text (a body, a WebSocket message) -> value; blank -> undefined. */
export function parseJsonText(text: string, maxDepth: number): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text) > maxDepth) {
    throw new HttpError(400, 'BODY_TOO_DEEP', `The JSON is nested deeper than ${maxDepth} levels; send a flatter value.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError('The request body is not valid JSON.');
  }
}

/** Deepest nesting of `[`/`{` outside strings, in one pass without recursion (malformed text is JSON.parse's to refuse). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
