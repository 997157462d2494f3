// Spawns server-main.ts in a child process and follows what it reports; every child is killed in afterAll.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from './api.js';
import type { ServerConfig } from './server-main.js';

export interface ChildMessage {
  pid: number;
  event: string;
  [key: string]: unknown;
}

export class ChildServer {
  readonly messages: ChildMessage[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private exitedAlready = false;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(config: ServerConfig) {
    this.child = spawn(process.execPath, [join(__dirname, 'server-process.cjs'), JSON.stringify(config)], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as ChildMessage);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitedAlready = true;
        resolve({ code, signal });
      }),
    );
  }

  async url(): Promise<string> {
    const listening = await until(`child ${this.child.pid} to listen`, () => {
      if (this.exitedAlready) throw new Error(`child exited early: ${this.stderr}\n${JSON.stringify(this.messages)}`);
      return this.messages.find((m) => m.event === 'listening');
    }, 60_000);
    return listening.url as string;
  }

  executed(node: string): number {
    return this.messages.filter((m) => m.event === 'executed' && m.node === node).length;
  }

  kill(signal: NodeJS.Signals): Promise<unknown> {
    if (!this.exitedAlready) this.child.kill(signal);
    return this.exited;
  }
}
