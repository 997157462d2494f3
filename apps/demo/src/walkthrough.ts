// `pnpm --filter @savepoint/demo walkthrough`: a terminal walkthrough of what Savepoint is for, on the
// embedded SQLite default (`pnpm demo` is the web app, src/main.ts).
//   1. a worker process starts a paid, multi-step run and is SIGKILLed in the middle of it;
//   2. another process takes the run over once the dead worker's lease expires, and resumes it:
//      finished steps are reused, not paid again; the run then waits for a human;
//   3. the human answers (a wrong answer is refused first, and changes nothing); the run completes;
//   4. the checkpoint timeline of the run.
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { InvalidResumeInputError, RunLockedError, type RunResult, type Workflow } from '@savepoint/core';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { record, spent, totalCents } from './ledger.js';
import { researchWorkflow } from './research-workflow.js';

// pnpm runs scripts inside the package; INIT_CWD is where the user typed `pnpm demo`.
const dbPath = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.SAVEPOINT_DEMO_DB ?? '.savepoint/demo.db');
const topic = 'solar storage';
const say = (text = '') => console.log(text);
const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

function openBackend() {
  mkdirSync(dirname(dbPath), { recursive: true });
  return new SqliteBackend({ path: dbPath });
}

/** Runs in the child process: starts the run and dies inside `draft`. */
async function worker() {
  const workflow = researchWorkflow(openBackend(), 'draft');
  workflow.on('run_started', (event) => process.send?.({ type: 'run', runId: event.runId }));
  await workflow.run({ topic });
}

function crashingWorker(): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let runId: string | undefined;
    const child = fork(__filename, ['--worker'], { stdio: 'inherit' });
    child.on('message', (message: { type: string; runId?: string; step?: string; cents?: number; pid?: number }) => {
      if (message.type === 'run') runId = message.runId;
      if (message.type === 'spend') {
        record({ step: message.step!, cents: message.cents!, pid: message.pid! });
        say(`   worker ${message.pid} paid ${money(message.cents!)} for ${message.step}`);
      }
    });
    child.on('exit', (code, signal) => {
      if (!runId) return reject(new Error(`the worker exited (${signal ?? code}) before starting a run`));
      say(`   worker ${child.pid} died: ${signal ?? `exit ${code}`}`);
      resolvePromise(runId);
    });
  });
}

/** Takes over a run whose worker died: its lease has to expire first. */
async function resumeWhenFree(workflow: Workflow, runId: string): Promise<RunResult> {
  for (;;) {
    try {
      return await workflow.resume({ runId });
    } catch (error) {
      if (!RunLockedError.isInstance(error)) throw error;
      say('   the dead worker still holds the run\'s lease; waiting for it to expire…');
      await new Promise((r) => setTimeout(r, 700));
    }
  }
}

async function askHuman(prompt: string): Promise<{ publish: boolean; note?: string }> {
  if (!process.stdin.isTTY) {
    say(`   (no terminal attached: answering "${prompt}" with yes)`);
    return { publish: true, note: 'approved by the demo' };
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`   ${prompt} [y/n] `);
  rl.close();
  return { publish: /^y/i.test(answer.trim()), note: 'answered in the terminal' };
}

async function main() {
  say(`Savepoint demo — runs are stored in ${dbPath}\n`);

  say('1. A worker process starts a research run (every step is a paid call) and crashes while drafting.');
  const runId = await crashingWorker();
  const paidBeforeCrash = totalCents();
  say(`   run ${runId}: ${money(paidBeforeCrash)} spent before the crash\n`);

  const backend = openBackend();
  const workflow = researchWorkflow(backend);
  const afterCrash = await workflow.listCheckpoints({ runId });
  say(`   its checkpoints survived the crash: ${afterCrash.length}, the newest has completed [${afterCrash[0]?.completedNodeIds.join(', ')}]\n`);

  say('2. This process resumes the run from its latest checkpoint.');
  workflow.on('node_started', (event) => say(`   running ${event.nodeId}`));
  const paused = await resumeWhenFree(workflow, runId);
  const paidAgain = spent().filter((e) => e.pid === process.pid).map((e) => e.step);
  say(`   resumed: only [${paidAgain.join(', ')}] ran again; research, outline and sources were reused from the checkpoint`);
  say(`   the run is now ${paused.status}: ${paused.pendingInputs.map((p) => `"${p.prompt}" at ${p.nodePath}`).join(', ')}\n`);

  say('3. A human answers — first with a malformed answer, which is refused and changes nothing.');
  const head = paused.checkpointId;
  try {
    // As a client's JSON arrives: the compiler would refuse this literal ('sure' is not a boolean), the run checks it too.
    await workflow.resume({ runId, input: JSON.parse('{ "approve": { "publish": "sure" } }') });
  } catch (error) {
    if (!InvalidResumeInputError.isInstance(error)) throw error;
    say(`   refused: ${error.message}`);
  }
  const stillHead = (await workflow.getLatestCheckpoint({ runId }))?.id;
  say(`   the run's head is unchanged: ${stillHead === head ? 'yes' : 'NO'}`);
  const answer = await askHuman(paused.pendingInputs[0]?.prompt ?? 'Approve?');
  const done = await workflow.resume({ runId, input: { approve: answer } });
  say(`   run ${done.status}: ${JSON.stringify(done.output)}\n`);

  say('4. The run\'s checkpoint timeline (newest first):');
  for (const cp of await workflow.listCheckpoints({ runId })) {
    say(`   #${String(cp.seq).padStart(2)} ${cp.status.padEnd(13)} completed [${cp.completedNodeIds.join(', ')}]`);
  }
  // Without checkpoints, the crash would have thrown away the worker's spending and paid every step again.
  const restartCost = paidBeforeCrash + totalCents();
  say(`\nPaid ${money(totalCents())} in total; restarting from scratch after the crash would have paid ${money(restartCost)}.`);
  await backend.close();
}

const entry = process.argv.includes('--worker') ? worker : main;
entry().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
