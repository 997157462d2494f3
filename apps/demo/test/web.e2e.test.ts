// The web demo in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser).
// Device 1 starts a run and leaves; device 2 finds it waiting, approves it; device 1 comes back and the
// page replays the whole history from the event log; then a checkpoint of the timeline is forked (after a
// confirmation that shows the conversation up to it) and the fork is rejected. A second server, whose runs
// wait live for a long time, shows what a user sees while a run waits: the status, the live waiting list and a
// header that stays in view.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startDemoProcess, type DemoProcess } from './support/demo-process';
import { eventsUntil } from './support/run-events';

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

/** A demo process on an ephemeral port and a database of its own, for the tests of one describe block. */
function demoServer(hitlTimeoutMs: number): { readonly url: string } {
  const dir = mkdtempSync(join(tmpdir(), 'savepoint-web-demo-'));
  let demo: DemoProcess | undefined;
  beforeAll(async () => {
    demo = await startDemoProcess({
      SAVEPOINT_DEMO_DB: join(dir, 'demo.db'),
      INIT_CWD: dir,
      SAVEPOINT_HITL_TIMEOUT_MS: String(hitlTimeoutMs),
      SAVEPOINT_DEMO_TOKEN_DELAY_MS: '5',
      SAVEPOINT_DEMO_SEARCH_DELAY_MS: '50',
    });
  }, 60_000);
  afterAll(async () => {
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
  return {
    get url() {
      return demo!.url;
    },
  };
}

describeBrowser('web demo in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
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
  }, 30_000);

  /**
   * A new browser context: no cookies, no storage, nothing shared: another device. `beforeGoto` prepares the
   * context before the page loads (e.g. installs a fake clock).
   */
  async function device(
    base: { url: string },
    path = '/',
    { viewport = { width: 1280, height: 900 }, beforeGoto }: { viewport?: { width: number; height: number }; beforeGoto?: (page: Page) => Promise<void> } = {},
  ): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    (page as Page & { errors?: string[] }).errors = errors;
    await beforeGoto?.(page);
    await page.goto(new URL(path, base.url).href);
    return page;
  }
  const text = async (locator: Locator) => (await locator.textContent()) ?? '';
  const conversation = (page: Page) => page.getByRole('log', { name: 'Conversation' });
  const runStatus = (page: Page) => page.locator('#run-status');
  /** The run_completed event has been rendered: the last entry of a finished run's log. */
  async function waitForCompletion(page: Page) {
    await conversation(page).locator('.notice.done').waitFor({ timeout: 30_000 });
    await page.locator('#run-status[data-status="completed"]').waitFor();
  }
  const pageErrors = (page: Page) => (page as Page & { errors?: string[] }).errors ?? [];
  /** How an answered approval card looks: the decision's colour and the card's background. */
  const look = (card: Locator) =>
    card.evaluate((node) => ({
      decision: getComputedStyle(node.querySelector('.decision')!).color,
      background: getComputedStyle(node).backgroundColor,
    }));
  /** Starts a run from the page's form; resolves with its id once the page follows it. */
  async function startRun(page: Page, topic = TOPIC): Promise<string> {
    await page.getByLabel('Topic to research').fill(topic);
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\?run=/);
    return new URL(page.url()).searchParams.get('run')!;
  }

  describe('a run released soon after it asks (short live wait)', () => {
    // A short live wait, so the run is released as pending_input soon after it asks and answered after a hand-over.
    const demo = demoServer(500);

    it('device 1 starts a run and leaves; device 2 approves it; device 1 replays everything; a checkpoint forks', async () => {
      // Device 1: start a run; the answer streams in and the approval request appears.
      const first = await device(demo);
      const runId = await startRun(first);
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
      const second = await device(demo, '/?transport=ws');
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
      const again = await device(demo, `/?run=${encodeURIComponent(runId)}`);
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
      const approvedCard = again.getByRole('group', { name: 'Approval request' });
      expect(await approvedCard.getByRole('button').count()).toBe(0);
      const approvedLook = await look(approvedCard);
      const timeline = again.getByRole('list', { name: 'Checkpoint timeline' });
      const waitingCheckpoint = timeline.getByRole('button', { name: /^Fork from checkpoint #\d+: waiting for approval$/ }).first();
      await waitingCheckpoint.waitFor();
      await timeline.getByText(/^#\d+ completed$/).waitFor(); // the head: where the run is, nothing to fork
      mkdirSync(ARTIFACTS, { recursive: true });
      await again.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`web demo screenshot: ${SCREENSHOT}`);

      // Time travel: the checkpoint that waited for approval first shows the conversation up to it, and asks.
      const resumes: string[] = [];
      again.on('request', (request) => {
        if (request.method() === 'POST' && request.url().endsWith('/resume')) resumes.push(request.url());
      });
      const runsBefore = ((await (await fetch(`${demo.url}/runs`)).json()) as { runs: unknown[] }).runs.length;
      await waitingCheckpoint.click();
      const confirm = again.getByRole('dialog', { name: /^Fork from checkpoint #\d+ \(waiting for approval\)\?$/ });
      await confirm.waitFor();
      const upToFork = await text(confirm.getByRole('log', { name: 'Conversation up to the checkpoint' }));
      for (const shown of [`Research: ${TOPIC}`, `Tool: search("${TOPIC}")`, DRAFT_END, 'Publish this answer?', 'the fork asks it again']) {
        expect(upToFork).toContain(shown);
      }
      for (const later of ['Approved (note: ship it)', `Approved: the answer about ${TOPIC} is published.`, 'Run completed']) {
        expect(upToFork).not.toContain(later); // what happened after the checkpoint is not part of the fork
      }
      expect(await confirm.getByRole('button', { name: 'Approve' }).count()).toBe(0); // a preview, not a place to answer
      // Cancel forks nothing: no resume request, no new run, the page stays on the original run.
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      expect(resumes).toEqual([]);
      expect(((await (await fetch(`${demo.url}/runs`)).json()) as { runs: unknown[] }).runs).toHaveLength(runsBefore);
      expect(new URL(again.url()).searchParams.get('run')).toBe(runId);
      expect(await text(runStatus(again))).toContain(runId.slice(-8));

      // Confirmed: the page follows the new run.
      await waitingCheckpoint.click();
      await confirm.getByRole('button', { name: 'Fork' }).click();
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
      expect(resumes).toHaveLength(1);

      // A rejection does not look like a success: its own words and colours on the card, the end notice and the status.
      const rejectedCard = again.getByRole('group', { name: 'Approval request' });
      expect(await text(rejectedCard.locator('.decision'))).toBe('Rejected: not published (note: needs sources)');
      const rejectedLook = await look(rejectedCard);
      expect(rejectedLook.decision).not.toBe(approvedLook.decision);
      expect(rejectedLook.background).not.toBe(approvedLook.background);
      const ending = conversation(again).locator('.notice.done');
      expect(await text(ending)).toBe('Run completed without your approval: the answer was not published.');
      expect(await ending.evaluate((node) => getComputedStyle(node).color)).toBe(rejectedLook.decision);
      expect(await text(conversation(again))).not.toContain('Run completed.');
      expect(await text(runStatus(again))).toContain('completed (you rejected the answer)');
      expect(await runStatus(again).getAttribute('data-outcome')).toBe('rejected');
      expect(await runStatus(again).evaluate((node) => getComputedStyle(node).color)).toBe(rejectedLook.decision);

      // The original run is untouched by its fork.
      const original = (await (await fetch(`${demo.url}/runs/${runId}`)).json()) as { status: string; output?: unknown };
      expect(original.status).toBe('completed');
      expect(original.output).toBe(`Approved: the answer about ${TOPIC} is published.`);
      expect(pageErrors(again)).toEqual([]);
      await again.context().close();
    }, 180_000);
  });

  describe('a run that waits live (long live wait)', () => {
    // The run waits live far longer than any test: what the page shows comes from approval_requested, never from
    // the run_paused that ends a live wait.
    const demo = demoServer(600_000);

    /** What another client (no browser) does: start a run; it stops at its approval and waits live. */
    async function startOverHttp(topic: string): Promise<string> {
      const response = await fetch(`${demo.url}/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workflow: 'chat', input: { topic } }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { runId: string }).runId;
    }
    /** Answers the run's question over HTTP, once the run asks it (read from its event log). */
    async function answerOverHttp(runId: string, approved: boolean): Promise<void> {
      const events = await eventsUntil(demo.url, runId, (e) => e.type === 'approval_requested');
      const question = events[events.length - 1]!.data as { nodePath: string; requestId: string };
      const response = await fetch(`${demo.url}/runs/${runId}/input`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `answer-${runId}` },
        body: JSON.stringify({ input: { [question.nodePath]: { approved } }, requestIds: { [question.nodePath]: question.requestId } }),
      });
      expect(response.status).toBe(202);
    }

    it('says "waiting for your approval" as soon as the approval card shows', async () => {
      const page = await device(demo);
      const runId = await startRun(page);
      const card = page.getByRole('group', { name: 'Approval request' });
      await card.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 30_000 });
      // Read at once: the card and the status come from the same event.
      expect(await text(runStatus(page))).toBe(`Run ${runId.slice(-8)}: waiting for your approval`);
      expect(await runStatus(page).getAttribute('data-status')).toBe('pending_input');
      const stored = (await (await fetch(`${demo.url}/runs/${runId}`)).json()) as { status: string };
      expect(stored.status).toBe('pending_input'); // what the page says is what the bridge stores

      await card.getByRole('button', { name: 'Approve' }).click();
      await waitForCompletion(page);
      expect(await text(card.locator('.decision'))).toBe('Approved');
      expect(await text(conversation(page).locator('.notice.done'))).toBe('Run completed.');
      expect(await runStatus(page).getAttribute('data-outcome')).toBeNull();
      expect(pageErrors(page)).toEqual([]);
      await page.context().close();
    }, 120_000);

    it('keeps the header in view while a long conversation scrolls', async () => {
      const runId = await startOverHttp('wave energy');
      await answerOverHttp(runId, true);
      const page = await device(demo, `/?run=${encodeURIComponent(runId)}`, { viewport: { width: 1000, height: 560 } });
      await waitForCompletion(page);
      const log = conversation(page);
      // Scroll as a reader would: to the start of the conversation, then to its end, and the page as far as it goes.
      await log.locator('.entry').first().scrollIntoViewIfNeeded();
      await page.mouse.move(300, 400);
      await page.mouse.wheel(0, 5000);
      await log.locator('.entry').last().scrollIntoViewIfNeeded();
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const inView = (selector: string) =>
        page.locator(selector).evaluate((node) => {
          const box = node.getBoundingClientRect();
          return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
        });
      expect(await inView('header.top')).toBe(true);
      expect(await inView('#run-status')).toBe(true);
      expect(await inView('#log > .entry:last-child')).toBe(true); // the end of the conversation is shown too
      // The conversation was longer than the room it has: it scrolled, inside the page.
      expect(await log.evaluate((node) => node.scrollHeight > node.clientHeight)).toBe(true);
      expect(await log.evaluate((node) => node.scrollTop)).toBeGreaterThan(0);
      await page.context().close();
    }, 60_000);

    it('updates "Waiting for you" live when another client starts a run that waits, and when it is answered', async () => {
      // The page's timers are frozen: the list can only change because the server said so, not by polling.
      const page = await device(demo, '/', {
        beforeGoto: (p) => p.clock.install(),
      });
      const waiting = page.getByRole('list', { name: 'Waiting for you' });
      await waiting.locator('li').first().waitFor(); // the list has loaded (empty or not)
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);

      // Another client starts a run that waits.
      const runId = await startOverHttp('tidal power');
      const entry = waiting.getByRole('button', { name: new RegExp(`run ${runId.slice(-8)}`) });
      await entry.waitFor({ timeout: 30_000 });
      expect(await text(entry)).toContain('Publish this answer?');

      // That client answers: the run leaves the list, still without a reload or a timer.
      await answerOverHttp(runId, true);
      await entry.waitFor({ state: 'detached', timeout: 30_000 });
      expect(pageErrors(page)).toEqual([]);
      await page.context().close();
    }, 120_000);
  });
});
