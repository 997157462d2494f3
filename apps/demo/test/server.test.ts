// The web demo's server without a browser: the page and its assets, the runtime bridge mounted next to
// them, and a whole human-in-the-loop run over plain HTTP (as a phone app or curl would do it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { startDemoProcess, type DemoProcess } from './support/demo-process';
import { eventsUntil as readEventsUntil, type Envelope } from './support/run-events';

const dir = mkdtempSync(join(tmpdir(), 'savepoint-demo-server-'));
let demo: DemoProcess;

beforeAll(async () => {
  demo = await startDemoProcess({
    SAVEPOINT_DEMO_DB: join(dir, 'nested', 'demo.db'),
    SAVEPOINT_HITL_TIMEOUT_MS: '200',
    SAVEPOINT_DEMO_TOKEN_DELAY_MS: '0',
    SAVEPOINT_DEMO_SEARCH_DELAY_MS: '0',
  });
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Reads a run's event log as NDJSON until `until` is seen (the stream replays from the start). */
function eventsUntil(runId: string, until: (e: Envelope) => boolean, base = demo.url): Promise<Envelope[]> {
  return readEventsUntil(base, runId, until);
}

async function json(path: string, init?: RequestInit, base = demo.url): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, init);
  return { status: response.status, body: await response.json() };
}

describe('the demo server', () => {
  it('prints where it listens and where runs are stored', () => {
    expect(demo.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(demo.url).not.toMatch(/:3000$/); // PORT=0: the real, ephemeral port is printed
    expect(demo.output()).toContain(join(dir, 'nested', 'demo.db'));
    expect(demo.output()).toContain('scripted model (no network)');
  });

  it('serves the page and its assets from the same origin, with no external resource', async () => {
    const page = await fetch(demo.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/app.js" defer></script>');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // no CDN: works offline
    for (const [path, type] of [['/app.js', 'text/javascript'], ['/style.css', 'text/css'], ['/favicon.svg', 'image/svg+xml']] as const) {
      const asset = await fetch(`${demo.url}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toContain(type);
    }
    const config = await json('/demo-config.json');
    expect(config.body).toEqual({ workflow: 'chat', model: 'scripted model (no network)' });
  });

  it('serves nothing else: unknown paths, traversal and writes outside the API are refused', async () => {
    for (const path of ['/nope', '/../package.json', '/%2e%2e/src/main.ts', '/public/app.js', '/dist/main.js']) {
      const { status, body } = await json(path);
      expect(status).toBe(404);
      expect(body.error.code).toBe('NOT_FOUND');
    }
    expect((await json('/', { method: 'POST' })).status).toBe(405);
  });

  it('runs the chat over plain HTTP: the run waits for approval, a bad answer is refused, a good one completes it', async () => {
    const started = await json('/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workflow: 'chat', input: { topic: 'wind power' } }),
    });
    expect(started.status).toBe(202);
    const { runId } = started.body as { runId: string };

    const untilPaused = await eventsUntil(runId, (e) => e.type === 'run_paused');
    const types = untilPaused.map((e) => e.type);
    expect(types[0]).toBe('run_started');
    expect(types).toContain('tool_result');
    expect(types).toContain('approval_requested');
    expect(types.filter((t) => t === 'stream_chunk').length).toBeGreaterThan(10);
    const seqs = untilPaused.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    const waiting = await json('/runs?status=pending_input');
    const listed = (waiting.body.runs as Array<{ runId: string; pendingInputs: Array<{ nodePath: string; prompt: string }> }>).find(
      (r) => r.runId === runId,
    );
    expect(listed?.pendingInputs[0]).toMatchObject({ nodePath: 'assistant/tool:approve', prompt: expect.stringMatching(/^Publish this answer\?/) });

    const refused = await json(`/runs/${runId}/input`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: { 'assistant/tool:approve': { approved: 'sure' } } }),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('INVALID_RESUME_INPUT');
    expect((await json(`/runs/${runId}`)).body.status).toBe('pending_input');

    const accepted = await json(`/runs/${runId}/input`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'answer-1' },
      body: JSON.stringify({ input: { 'assistant/tool:approve': { approved: true } } }),
    });
    expect(accepted.status).toBe(202);
    const all = await eventsUntil(runId, (e) => e.type === 'run_completed');
    expect(all.at(-1)!.data['output']).toBe('Approved: the answer about wind power is published.');
    const run = await json(`/runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'completed', output: 'Approved: the answer about wind power is published.' });
    const checkpoints = await json(`/runs/${runId}/checkpoints`);
    expect(checkpoints.body.checkpoints.length).toBeGreaterThan(3);
  });

  it('says on /waiting-events that the waiting list may have changed when a run starts waiting', async () => {
    const controller = new AbortController();
    const response = await fetch(`${demo.url}/waiting-events`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const chunks = (response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const decoder = new TextDecoder();
    let received = '';
    /** Reads the stream until `text` arrives, then forgets what was read. */
    const readUntil = async (text: string) => {
      while (!received.includes(text)) {
        const { value, done } = await chunks.next();
        if (done) throw new Error(`the stream ended before "${text}"; got ${JSON.stringify(received)}`);
        received += decoder.decode(value, { stream: true });
      }
      received = '';
    };
    try {
      await readUntil('retry: 1000'); // connected: every later change is announced
      const { body } = await json('/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow: 'chat', input: { topic: 'geothermal' } }) });
      const asked = await eventsUntil(body.runId, (e) => e.type === 'approval_requested');
      await readUntil('data: changed\n\n');
      // The hint carries nothing: the page reloads the list through the bridge (its auth and tenant scoping).
      const list = await json('/runs?status=pending_input');
      expect(list.body.runs.map((r: { runId: string }) => r.runId)).toContain(body.runId);
      const { nodePath, requestId } = asked[asked.length - 1]!.data as { nodePath: string; requestId: string };
      const answered = await json(`/runs/${body.runId}/input`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: { [nodePath]: { approved: false } }, requestIds: { [nodePath]: requestId } }),
      });
      expect(answered.status).toBe(202);
      await eventsUntil(body.runId, (e) => e.type === 'run_completed');
    } finally {
      controller.abort();
    }
  });

  it('mounts the WebSocket on /ws: a subscription replays a run from its log', async () => {
    const started = await json('/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workflow: 'chat', input: { topic: 'geothermal' } }),
    });
    const { runId } = started.body as { runId: string };
    await eventsUntil(runId, (e) => e.type === 'run_paused');
    const socket = new WebSocket(`${demo.url.replace('http', 'ws')}/ws`);
    try {
      const types = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', runId })));
        socket.on('message', (raw) => {
          const message = JSON.parse(String(raw)) as { type: string };
          if (message.type === 'error') reject(new Error(String(raw)));
          seen.push(message.type);
          if (message.type === 'run_paused') resolve(seen);
        });
        socket.on('error', reject);
      });
      expect(types[0]).toBe('run_started');
      expect(types).toContain('approval_requested');
    } finally {
      socket.close();
    }
  });
});

describe('a restart', () => {
  it('keeps a waiting run: after the server restarts on the same database, the answer completes it and its log is whole', async () => {
    const env = {
      SAVEPOINT_DEMO_DB: join(dir, 'restart.db'),
      SAVEPOINT_HITL_TIMEOUT_MS: '60000', // still waiting live when the server stops: close() pauses it
      SAVEPOINT_DEMO_TOKEN_DELAY_MS: '0',
      SAVEPOINT_DEMO_SEARCH_DELAY_MS: '0',
    };
    const before = await startDemoProcess(env);
    let runId: string;
    try {
      const started = await json('/runs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ workflow: 'chat', input: { topic: 'batteries' } }),
      }, before.url);
      runId = (started.body as { runId: string }).runId;
      await eventsUntil(runId, (e) => e.type === 'approval_requested', before.url);
    } finally {
      await before.stop();
    }
    const after = await startDemoProcess(env);
    try {
      const waiting = await json('/runs?status=pending_input', undefined, after.url);
      expect((waiting.body.runs as Array<{ runId: string }>).map((r) => r.runId)).toContain(runId);
      const answered = await json(`/runs/${runId}/input`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'after-restart' },
        body: JSON.stringify({ input: { 'assistant/tool:approve': { approved: false, note: 'later' } } }),
      }, after.url);
      expect(answered.status).toBe(202);
      const log = await eventsUntil(runId, (e) => e.type === 'run_completed', after.url);
      const types = log.map((e) => e.type);
      expect(types[0]).toBe('run_started');
      expect(types).toContain('tool_result'); // written by the first process
      expect(types).toContain('checkpoint_resumed'); // the second one picked the run up
      expect(types.filter((t) => t === 'tool_result')).toHaveLength(1); // the search did not run again
      expect(log.at(-1)!.data['output']).toBe('Rejected: the answer about batteries stays a draft (note: later).');
    } finally {
      await after.stop();
    }
  });

  it('hands a busy run over on SIGTERM: the server exits 0 at once, the next start finishes the run, the search runs once', async () => {
    const env = { SAVEPOINT_DEMO_DB: join(dir, 'sigterm.db'), SAVEPOINT_HITL_TIMEOUT_MS: '60000', SAVEPOINT_DEMO_TOKEN_DELAY_MS: '0' };
    // The search would take ten minutes; the grace period is 0, so SIGTERM interrupts it.
    const before = await startDemoProcess({ ...env, SAVEPOINT_DEMO_SEARCH_DELAY_MS: '600000', SAVEPOINT_SHUTDOWN_GRACE_MS: '0' });
    let runId: string;
    try {
      const started = await json('/runs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ workflow: 'chat', input: { topic: 'tides' } }),
      }, before.url);
      runId = (started.body as { runId: string }).runId;
      await eventsUntil(runId, (e) => e.type === 'stream_chunk', before.url);
    } finally {
      await before.stop();
    }
    expect({ code: before.child.exitCode, signal: before.child.signalCode }).toEqual({ code: 0, signal: null });
    expect(before.output()).toContain('SIGTERM: handing runs over');

    const after = await startDemoProcess({ ...env, SAVEPOINT_DEMO_SEARCH_DELAY_MS: '0' });
    try {
      // Its reaper resumes the paused run (nobody holds it) and the run asks for approval again.
      const asked = await eventsUntil(runId, (e) => e.type === 'approval_requested', after.url);
      expect(asked.find((e) => e.type === 'run_paused')?.data).toMatchObject({ reason: 'shutdown' });
      const answered = await json(`/runs/${runId}/input`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'after-sigterm' },
        body: JSON.stringify({ input: { 'assistant/tool:approve': { approved: true } } }),
      }, after.url);
      expect(answered.status).toBe(202);
      const log = await eventsUntil(runId, (e) => e.type === 'run_completed', after.url);
      expect(log.filter((e) => e.type === 'tool_result')).toHaveLength(1);
    } finally {
      await after.stop();
    }
  }, 60_000);
});
