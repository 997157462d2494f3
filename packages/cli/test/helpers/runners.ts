import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../../src/index';

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with these arguments; `env` is added to the test process's environment. */
export type Runner = (args: readonly string[], env?: Record<string, string>) => Promise<CliOutcome>;

export const BIN = join(__dirname, '..', '..', 'dist', 'esm', 'bin.js');

/** The built bin as a real process, as a user runs it. */
export const spawned: Runner = (args, env = {}) =>
  new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: __dirname, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

/** The same command line in this process (what the coverage of src/ is measured on). */
export const inProcess: Runner = async (args, env = {}) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { ...process.env, ...env },
    cwd: __dirname,
  });
  return { code, stdout, stderr };
};

export function json<T = any>(outcome: CliOutcome): T {
  try {
    return JSON.parse(outcome.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${outcome.code}):\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
  }
}
