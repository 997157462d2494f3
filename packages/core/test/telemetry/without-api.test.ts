// A user who sets `telemetry` without installing @opentelemetry/api gets a typed error that says what to do, and
// nothing of the run starts. (Core without `telemetry` never loads the package: the consumer check installs core
// without it and runs a workflow through both entry points.)
import { describe, expect, it, jest } from '@jest/globals';
import { Flow, FunctionNode, InvalidArgumentError, MemoryAdapter, Workflow } from '../../src/index.js';

jest.mock('@opentelemetry/api', () => {
  throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
});

describe('telemetry without @opentelemetry/api', () => {
  it('rejects run() and resume() with InvalidArgumentError before anything is stored', async () => {
    const backend = new MemoryAdapter();
    let ran = 0;
    const flow = new Flow({ id: 'no-api', nodes: [new FunctionNode({ id: 'a', run: () => ++ran })] });
    const workflow = new Workflow({ flow, checkpoint: { enabled: true, backend }, telemetry: {} });
    const run = workflow.run(null, { runId: 'r1' });
    await expect(run).rejects.toThrow(InvalidArgumentError);
    await expect(run).rejects.toThrow(/npm install @opentelemetry\/api/);
    await expect(workflow.resume({ runId: 'r1' })).rejects.toThrow(InvalidArgumentError);
    expect(ran).toBe(0);
    expect(await backend.getHead('r1')).toBeNull();
  });

  it('runs as before without the option', async () => {
    const flow = new Flow({ id: 'plain', nodes: [new FunctionNode({ id: 'a', run: () => 'ok' })] });
    expect((await new Workflow({ flow }).run(null)).output).toBe('ok');
  });
});
