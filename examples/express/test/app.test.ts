// The example as a client sees it: a real server on a free port, HTTP to start a run, the WebSocket protocol to
// follow it and answer the manager's question, HTTP again to read the result and to be refused a second answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { createApp } from '../src/app.js';

const dir = mkdtempSync(join(tmpdir(), 'savepoint-example-express-'));
const auth = { authorization: 'Bearer t-ada' };
const json = { ...auth, 'content-type': 'application/json' };
let base = '';
let close: () => Promise<void>;

beforeAll(async () => {
  const started = await createApp({ dbPath: join(dir, 'app.db'), users: { 't-ada': { tenantId: 'acme', userId: 'ada' } } }).listen(0);
  close = started.close;
  base = `127.0.0.1:${(started.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

interface Message {
  type: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A WebSocket client that collects every message and lets the test wait for one. */
async function connect(): Promise<{ socket: WebSocket; next: (match: (m: Message) => boolean) => Promise<Message> }> {
  const socket = new WebSocket(`ws://${base}/ws`, { headers: auth });
  const seen: Message[] = [];
  const waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as Message;
    seen.push(message);
    for (const waiter of waiters.filter((w) => w.match(message))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const next = (match: (m: Message) => boolean) =>
    new Promise<Message>((resolve) => {
      const found = seen.find(match);
      if (found) resolve(found);
      else waiters.push({ match, resolve });
    });
  return { socket, next };
}

describe('Express example', () => {
  it('refuses a request without a known token', async () => {
    const response = await fetch(`http://${base}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });

  it('keeps serving its own routes next to the runtime', async () => {
    const response = await fetch(`http://${base}/health`);
    expect(await response.json()).toMatchObject({ ok: true });
  });

  it('runs an expense to the manager, takes the answer over WebSocket and books it', async () => {
    const input = { employee: 'Ada', amountCents: 4250, reason: 'train to the client' };
    const started = await fetch(`http://${base}/runs`, { method: 'POST', headers: json, body: JSON.stringify({ workflow: 'expense', input }) });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };

    const { socket, next } = await connect();
    try {
      socket.send(JSON.stringify({ type: 'subscribe', runId, after: 0 }));
      const question = await next((m) => m.type === 'approval_requested');
      expect(question.data).toMatchObject({ nodePath: 'approve', prompt: 'Approve 42.50 EUR for Ada (train to the client)?' });

      const requestId = question.data!.requestId as string;
      socket.send(JSON.stringify({ type: 'input', runId, input: { approve: { approved: true } }, requestIds: { approve: requestId }, idempotencyKey: 'k1' }));
      expect(await next((m) => m.type === 'ack')).toMatchObject({ runId, idempotencyKey: 'k1' });
      const done = await next((m) => m.type === 'run_completed');
      expect(done.data).toMatchObject({ output: 'booked 42.50 EUR for Ada' });

      const run = (await (await fetch(`http://${base}/runs/${runId}`, { headers: auth })).json()) as Record<string, unknown>;
      expect(run).toMatchObject({ runId, status: 'completed', output: 'booked 42.50 EUR for Ada', pendingInputs: [] });

      // Another device answering the same question later is told it was answered; nothing changes.
      const late = await fetch(`http://${base}/runs/${runId}/input`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ input: { approve: { approved: false } }, requestIds: { approve: requestId } }),
      });
      expect(late.status).toBe(409);
    } finally {
      socket.close();
    }
  });
});
