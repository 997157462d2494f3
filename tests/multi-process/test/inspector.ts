// Client of test/inspector-process.cjs: asks about a run's stored state through the built packages, from any number of
// concurrent callers.
import { join } from 'node:path';
import { spawnWorker, until, type WorkerEvent, type WorkerProcess } from './workers.js';

export interface NodeRecord {
  status: string;
  attempt: number;
  /** The node's `{ v, tok }` output, when it has one. */
  v?: number;
  tok?: string;
}

export interface ListedCheckpoint {
  id: string;
  seq: number;
  status: string;
  parent: string | null;
}

export type LoadedCheckpoint =
  | (ListedCheckpoint & { nodes: Record<string, NodeRecord>; error?: undefined })
  | { id: string; error: string; message: string };

/** A run as storage shows it: getHead, listByRun (highest seq first) and a load of every listed checkpoint. */
export interface RunReport {
  head: string | null;
  listed: ListedCheckpoint[];
  loaded: LoadedCheckpoint[];
}

export class Inspector {
  private nextId = 1;

  private constructor(private readonly process: WorkerProcess) {}

  static async start(worker: Record<string, unknown>): Promise<Inspector> {
    const process = spawnWorker(worker, join(__dirname, 'inspector-process.cjs'));
    await until('the inspector to start', () => process.events.find((e) => e.event === 'ready'), [process]);
    return new Inspector(process);
  }

  check(runId: string): Promise<RunReport> {
    return this.ask('check', runId) as unknown as Promise<RunReport>;
  }

  /** The fencing token of a fresh claim on the run (released at once); null while another owner holds it. */
  async leaseToken(runId: string): Promise<number | null> {
    return (await this.ask('lease', runId)).token as number | null;
  }

  stop(): void {
    this.process.signal('SIGKILL');
  }

  private async ask(op: string, runId: string): Promise<WorkerEvent> {
    const id = this.nextId++;
    this.process.send(JSON.stringify({ id, op, runId }));
    const answer = await until(`the inspector to answer ${op} ${runId}`, () => this.process.events.find((e) => e.id === id), [this.process]);
    if (answer.event === 'failed') throw new Error(`The inspector could not ${op} run ${runId}: ${answer.message}`);
    return answer;
  }
}
