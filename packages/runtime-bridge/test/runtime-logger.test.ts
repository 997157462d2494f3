// The runtime reports through a `logger` (core's Logger): unexpected errors go to logger.error unless `onError` is given.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryAdapter, type Logger } from '@savepoint/core';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { approvalWorkflow } from './support/approval-workflow.js';

describe('runtime logger', () => {
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
    jest.restoreAllMocks();
  });

  /** A runtime whose auth hook throws: every request is an unexpected error (500). */
  const failing = (options: Partial<RuntimeOptions>) => {
    const backend = new MemoryAdapter();
    const runtime = createRuntime({
      workflows: { approval: approvalWorkflow({ backend }).workflow },
      backend,
      reaper: false,
      auth: () => {
        throw new Error('the token service is down');
      },
      ...options,
    });
    runtimes.push(runtime);
    return async () => (await runtime.handler(new Request('http://runtime/runs'))).status;
  };
  const recording = () => {
    const lines: Array<{ level: keyof Logger; message: string; fields: Record<string, unknown> | undefined }> = [];
    const at = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    return { logger, lines };
  };

  it('sends unexpected errors to logger.error, naming what failed, with the error as a field', async () => {
    const { logger, lines } = recording();
    expect(await failing({ logger })()).toBe(500);
    expect(lines).toEqual([
      {
        level: 'error',
        message: 'runtime: handling a request: the token service is down',
        fields: { context: 'handling a request', error: expect.objectContaining({ message: 'the token service is down' }) },
      },
    ]);
  });

  it('leaves the logger out when onError is given', async () => {
    const { logger, lines } = recording();
    const reported: string[] = [];
    expect(await failing({ logger, onError: (error, context) => reported.push(`${context}: ${(error as Error).message}`) })()).toBe(500);
    expect(reported).toEqual(['handling a request: the token service is down']);
    expect(lines).toEqual([]);
  });

  it("defaults to core's consoleLogger: the error reaches console.error", async () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await failing({})()).toBe(500);
    expect(printed).toHaveBeenCalledWith('[savepoint] runtime: handling a request: the token service is down', expect.objectContaining({ context: 'handling a request' }));
  });
});
