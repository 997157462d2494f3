// Spawns worker processes (test/*.cjs), collects their JSON events, and kills every one of them at the end.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const WORKER = join(__dirname, 'worker.cjs');
const BUILT = ['core', 'backend-file', 'backend-postgres', 'backend-redis', 'backend-sqlite'].map((name) => join(__dirname, '../../../packages', name, 'dist/cjs/index.js'));

export interface WorkerEvent {
  pid: number;
  event: string;
  runId?: string;
  node?: string;
  status?: string;
  output?: unknown;
  error?: string;
  message?: string;
  checkpointId?: string | null;
  executed?: unknown;
  /** When the test process read the event (epoch ms). */
  receivedAt: number;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerProcess {
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private stderr = '';
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(config: Record<string, unknown>, script = WORKER) {
    this.child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push({ ...(JSON.parse(line) as WorkerEvent), receivedAt: Date.now() });
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // A worker killed or exiting early must not fail the test through an EPIPE on its stdin.
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': 'exit' can fire before the last stdout lines (a worker's `result`) have been read.
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(command: string): void {
    this.child.stdin.write(`${command}\n`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exit === undefined) this.child.kill(signal);
  }

  /** Whether the process is stopped (SIGSTOP), read from /proc (Linux). */
  isStopped(): boolean {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
    } catch {
      return false;
    }
  }

  of(event: string): WorkerEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits for a clean exit and returns the events; a crash or a non-zero exit fails with what the worker said. */
  async finished(timeoutMs = 60_000): Promise<WorkerEvent[]> {
    await until(`worker ${this.pid} to finish`, () => this.exit, [], timeoutMs);
    if (this.exit!.code !== 0) throw new Error(`worker ${this.pid} ended with ${JSON.stringify(this.exit)}:\n${this.describe()}`);
    return this.events;
  }

  /** Fails when the worker died on its own (not by a signal the test sent). */
  assertAlive(): void {
    if (this.exit !== undefined && this.exit.signal === null && this.exit.code !== 0) {
      throw new Error(`worker ${this.pid} died with code ${this.exit.code}:\n${this.describe()}`);
    }
  }

  describe(): string {
    return `events: ${JSON.stringify(this.events.slice(-20))}\nstderr: ${this.stderr.slice(-4000)}`;
  }
}

const live = new Set<WorkerProcess>();

/** Starts `script` (test/worker.cjs by default) with `config` as its argv JSON. */
export function spawnWorker(config: Record<string, unknown>, script = WORKER): WorkerProcess {
  const missing = BUILT.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`The workers load the built packages; build them first (pnpm turbo run build). Missing: ${missing.join(', ')}`);
  }
  const worker = new WorkerProcess(config, script);
  live.add(worker);
  void worker.exited.then(() => live.delete(worker));
  return worker;
}

/** SIGKILLs every worker still alive (stopped ones too) and waits for them to be gone. */
export async function killAllWorkers(): Promise<void> {
  const workers = [...live];
  for (const worker of workers) worker.signal('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
}

/** Polls `probe` until it returns a value; fails early when one of `workers` crashed, or after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, workers: WorkerProcess[], timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    for (const worker of workers) worker.assertAlive();
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}.\n${workers.map((worker) => `worker ${worker.pid}: ${worker.describe()}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
