// The web demo in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser).
// Device 1 starts a run and leaves; device 2 finds it waiting, approves it; device 1 comes back and the
// page replays the whole history from the event log; then a checkpoint of the timeline is forked.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startDemoProcess, type DemoProcess } from './support/demo-process';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'demo.png');
const TOPIC = 'solar storage';
const DRAFT_END = `In short, ${TOPIC} is moving fast and the sources agree on the trend.`;
const hasChromium = existsSync(CHROMIUM);

if (!hasChromium) {
  if (process.env['CI']) {
    describe('web demo in a browser', () => {
      it(`needs Chromium at ${CHROMIUM}`, () => {
        throw new Error(`${CHROMIUM} is missing: install the Debian package \`chromium\` (CI must run the browser test).`);
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPING the browser e2e test of the web demo: ${CHROMIUM} is missing.\n!!! Install it (apt-get install chromium) to run it; in CI (CI set) this is a failure.\n`,
    );
  }
}

const describeBrowser = hasChromium ? describe : describe.skip;

describeBrowser('web demo in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'savepoint-web-demo-'));
  let demo: DemoProcess;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemoProcess({
      SAVEPOINT_DEMO_DB: join(dir, 'demo.db'),
      INIT_CWD: dir,
      // A short live wait, so the run is released as pending_input (and listed) soon after it asks.
      SAVEPOINT_HITL_TIMEOUT_MS: '500',
      SAVEPOINT_DEMO_TOKEN_DELAY_MS: '5',
      SAVEPOINT_DEMO_SEARCH_DELAY_MS: '50',
    });
    // launch() gives the browser a fresh temporary --user-data-dir of its own (removed on close);
    // playwright refuses the flag in `args`.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** A new browser context: no cookies, no storage, nothing shared: another device. */
  async function device(path = '/'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    (page as Page & { errors?: string[] }).errors = errors;
    await page.goto(new URL(path, demo.url).href);
    return page;
  }
  const text = async (locator: Locator) => (await locator.textContent()) ?? '';
  const conversation = (page: Page) => page.getByRole('log', { name: 'Conversation' });
  const runStatus = (page: Page) => page.locator('#run-status');
  /** The run_completed event has been rendered: the last entry of a finished run's log. */
  async function waitForCompletion(page: Page) {
    await conversation(page).getByText('Run completed.').waitFor({ timeout: 30_000 });
    await page.locator('#run-status[data-status="completed"]').waitFor();
  }
  const pageErrors = (page: Page) => (page as Page & { errors?: string[] }).errors ?? [];

  it('device 1 starts a run and leaves; device 2 approves it; device 1 replays everything; a checkpoint forks', async () => {
    // Device 1: start a run; the answer streams in and the approval request appears.
    const first = await device();
    await first.getByLabel('Topic to research').fill(TOPIC);
    await first.getByRole('button', { name: 'Start run' }).click();
    await first.waitForURL(/\?run=/);
    const runId = new URL(first.url()).searchParams.get('run')!;
    expect(runId).toBeTruthy();
    const request = first.getByRole('group', { name: 'Approval request' });
    await request.waitFor({ timeout: 30_000 });
    expect(await request.getByRole('button', { name: 'Approve' }).isVisible()).toBe(true);
    expect(await request.getByRole('button', { name: 'Reject' }).isVisible()).toBe(true);
    expect(await text(request)).toContain(DRAFT_END);
    const streamed = first.locator('.assistant', { hasText: DRAFT_END });
    expect(Number(await streamed.getAttribute('data-chunks'))).toBeGreaterThan(10); // token by token
    expect(await text(conversation(first))).toContain(`Tool: search("${TOPIC}")`);
    expect(pageErrors(first)).toEqual([]);
    await first.context().close();

    // Device 2 (events over the WebSocket): the run is waiting for an answer; open it and approve.
    const second = await device('/?transport=ws');
    const waiting = second.getByRole('list', { name: 'Waiting for you' });
    const entry = waiting.getByRole('button', { name: new RegExp(`run ${runId.slice(-8)}`) });
    await entry.waitFor({ timeout: 30_000 }); // listed once the run is released as pending_input
    await entry.click();
    const replayed = second.getByRole('group', { name: 'Approval request' });
    await replayed.waitFor();
    expect(await text(replayed)).toContain(DRAFT_END);
    await second.getByLabel('Note (optional)').fill('ship it');
    // The answer names the question it answers (the requestId the run announced), so it can never answer another.
    const posted = second.waitForRequest((request) => request.method() === 'POST' && request.url().endsWith('/input'));
    await replayed.getByRole('button', { name: 'Approve' }).click();
    const answer = JSON.parse((await posted).postData() ?? '{}') as { input: Record<string, unknown>; requestIds: Record<string, string> };
    const [nodePath] = Object.keys(answer.input);
    expect(answer.requestIds).toEqual({ [nodePath!]: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    await waitForCompletion(second);
    expect(await text(conversation(second))).toContain(`Approved: the answer about ${TOPIC} is published.`);
    await waiting.getByRole('button', { name: new RegExp(`run ${runId.slice(-8)}`) }).waitFor({ state: 'detached' }); // no longer waiting
    expect(pageErrors(second)).toEqual([]);
    await second.context().close();

    // Device 1 again, in a fresh context: the whole history replays from the event log.
    const again = await device(`/?run=${encodeURIComponent(runId)}`);
    await waitForCompletion(again);
    const history = await text(conversation(again));
    for (const text of [
      `Research: ${TOPIC}`,
      `Let me research ${TOPIC} first.`,
      `Tool: search("${TOPIC}")`,
      DRAFT_END,
      'Approved (note: ship it)',
      `Approved: the answer about ${TOPIC} is published.`,
      'Run completed.',
    ]) {
      expect(history).toContain(text);
    }
    expect(history.indexOf(DRAFT_END)).toBeLessThan(history.indexOf('Approved (note: ship it)'));
    expect(await again.getByRole('group', { name: 'Approval request' }).getByRole('button').count()).toBe(0);
    const timeline = again.getByRole('list', { name: 'Checkpoint timeline' });
    const waitingCheckpoint = timeline.getByRole('button', { name: /^Fork from checkpoint #\d+: waiting for approval$/ }).first();
    await waitingCheckpoint.waitFor();
    await timeline.getByText(/^#\d+ completed$/).waitFor(); // the head: where the run is, nothing to fork
    mkdirSync(ARTIFACTS, { recursive: true });
    await again.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`web demo screenshot: ${SCREENSHOT}`);

    // Time travel: fork from the checkpoint that waited for approval; the page follows the new run.
    await waitingCheckpoint.click();
    await again.waitForURL((url) => !!url.searchParams.get('run') && url.searchParams.get('run') !== runId);
    const forkId = new URL(again.url()).searchParams.get('run')!;
    const asked = again.getByRole('group', { name: 'Approval request' });
    await asked.getByRole('button', { name: 'Reject' }).waitFor({ timeout: 30_000 });
    expect(await text(conversation(again))).toMatch(/Forked from checkpoint #\d+/);
    await again.getByLabel('Note (optional)').fill('needs sources');
    await asked.getByRole('button', { name: 'Reject' }).click();
    await waitForCompletion(again);
    expect(await text(conversation(again))).toContain(`Rejected: the answer about ${TOPIC} stays a draft (note: needs sources).`);
    expect(await text(runStatus(again))).toContain(forkId.slice(-8));

    // The original run is untouched by its fork.
    const original = (await (await fetch(`${demo.url}/runs/${runId}`)).json()) as { status: string; output?: unknown };
    expect(original.status).toBe('completed');
    expect(original.output).toBe(`Approved: the answer about ${TOPIC} is published.`);
    expect(pageErrors(again)).toEqual([]);
    await again.context().close();
  }, 180_000);
});
