import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'savepoint-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm --filter @savepoint/demo walkthrough', () => {
  it('crashes a worker, resumes without paying twice, refuses a bad answer and completes', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, '..', 'dist', 'walkthrough.js')], {
      env: { ...process.env, SAVEPOINT_DEMO_DB: join(dir, 'demo.db') },
    });
    expect(stdout).toContain('died: SIGKILL');
    expect(stdout).toContain('only [draft] ran again');
    expect(stdout).toMatch(/refused: /);
    expect(stdout).toContain("the run's head is unchanged: yes");
    expect(stdout).toContain('run success: "published"');
    expect(stdout).toContain('Paid $0.21 in total; restarting from scratch after the crash would have paid $0.30.');
  });
});
