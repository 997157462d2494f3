// Starts the built web demo (`node dist/main.js`) as a user would, on an ephemeral port and a temp database.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface DemoProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export function startDemoProcess(env: Record<string, string>): Promise<DemoProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ...env };
  // The scripted model, whatever the developer's shell says.
  delete childEnv['OPENAI_BASE_URL'];
  delete childEnv['OPENAI_API_KEY'];
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'main.js')], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const output = () => out;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Savepoint demo: (http:\/\/\S+)/.exec(out);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: Buffer) => (out += more.toString()));
        resolve({ url: match[1]!, child, output, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`the demo exited (${signal ?? code}) before printing its URL:\n${out}`)));
  });
}
