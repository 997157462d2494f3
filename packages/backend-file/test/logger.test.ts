import { join } from 'node:path';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@savepoint/core';
import { makeHeader } from '@savepoint/conformance';
import type { FileBackend } from '../src/index.js';
import { DEAD_PID, plantLock } from './support/lock-files.js';
import { makeBackend, removeDir } from './support/temp-dir.js';

describe('FileBackend logger', () => {
  let backend: FileBackend;
  afterEach(async () => {
    jest.restoreAllMocks();
    await removeDir(backend.dir);
  });

  it('reports taking over the run lock of a dead process to the logger it is given', async () => {
    const logger = { ...silentLogger, warn: jest.fn() };
    backend = await makeBackend({ logger });
    await plantLock(join(backend.dir, 'runs', 'run-1'), { pid: DEAD_PID });
    await backend.putHeader(makeHeader({ runId: 'run-1', seq: 0 }));
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/^Run run-1: took over the run lock of a process that died or stalled/), {
      runId: 'run-1',
      dir: backend.dir,
    });
  });

  it("defaults to core's consoleLogger", async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    backend = await makeBackend();
    await plantLock(join(backend.dir, 'runs', 'run-1'), { pid: DEAD_PID });
    await backend.putHeader(makeHeader({ runId: 'run-1', seq: 0 }));
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[savepoint\] Run run-1: took over the run lock/), expect.objectContaining({ runId: 'run-1' }));
  });
});
