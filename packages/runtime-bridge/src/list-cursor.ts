import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@savepoint/core';
import { z } from 'zod';
import type { Principal } from './principal.js';

/**
 * Opaque page cursors of the list routes. A cursor holds the sort key of the last item a page covered (a checkpoint id,
 * a seq), never an offset, so items added meanwhile neither shift nor repeat a page. It is bound to its listing: the
 * route, the caller (tenant and user) and the filters, hashed, so one cannot continue another listing by accident.
 * The check digest catches a cursor that was cut or edited; it is not a secret: a cursor only says where to resume
 * and grants nothing (every page is read with the caller's own tenant, filters and `authorize` checks).
 */
const VERSION = 1;
const Payload = z.strictObject({ v: z.literal(VERSION), s: z.string(), p: z.union([z.string(), z.number()]), c: z.string() });

/** Identifies one listing: the route, whoever asks, and everything that filters it (not the page size). */
export function cursorScope(list: string, principal: Principal, filters: Record<string, unknown>): string {
  const canonical = JSON.stringify([list, principal.tenantId, principal.userId, Object.entries(filters).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))]);
  return digest(canonical).slice(0, 24);
}

export function encodeCursor(scope: string, position: string | number): string {
  return Buffer.from(JSON.stringify({ v: VERSION, s: scope, p: position, c: check(scope, position) })).toString('base64url');
}

/** The position a cursor of this listing resumes after; a malformed, edited or foreign cursor is a 400 that says what to do. */
export function decodeCursor<P extends string | number>(cursor: string, scope: string, position: z.ZodType<P>): P {
  const restart = 'drop `cursor` to start again from the first page';
  let payload: z.infer<typeof Payload> | undefined;
  try {
    const parsed = Payload.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) payload = parsed.data;
  } catch {
    // Not base64url JSON: reported below like any other malformed cursor.
  }
  const malformed = new InvalidArgumentError(`Invalid cursor: it is malformed or was altered; pass a nextCursor exactly as the server returned it, or ${restart}.`);
  if (payload === undefined || payload.c !== check(payload.s, payload.p)) throw malformed;
  if (payload.s !== scope) {
    throw new InvalidArgumentError(`Invalid cursor: it belongs to another listing (another route, run, caller or filters); keep the same query while paging, or ${restart}.`);
  }
  const parsed = position.safeParse(payload.p);
  if (!parsed.success) throw malformed;
  return parsed.data;
}

function check(scope: string, position: string | number): string {
  return digest(`${scope}\n${typeof position}\n${position}`).slice(0, 16);
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
