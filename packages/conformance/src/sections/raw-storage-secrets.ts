import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { CheckpointStoreOptions, StorageAdapter } from '@savepoint/core';
import { makeFullCheckpoint } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

// Planted values: each must never reach the storage in clear. The first three are named by the redaction
// rules (a key and a pattern); the last is ordinary content that only encryption hides.
const TOKEN = 'sk-PlantedToken0123456789abcdef';
const API_KEY = 'planted-api-key-value-4711';
const PASSWORD = 'planted-password-hunter2';
const CONFIDENTIAL = 'planted-confidential-plaintext-2718';
const PLANTED = [TOKEN, API_KEY, PASSWORD, CONFIDENTIAL];

const OPTIONS: CheckpointStoreOptions = {
  redact: { keys: ['apiKey', 'password'], patterns: [/sk-[A-Za-z0-9]{16,}/] },
  encryption: { keys: [{ id: 'conformance', key: randomBytes(32) }] },
};

/** A value carrying every planted secret, the way user data does: under a redacted key, in text, in plain content. */
const secrets = (where: string) => ({ where, apiKey: API_KEY, nested: { password: PASSWORD }, text: `use ${TOKEN} now`, note: CONFIDENTIAL });

/**
 * With `dumpRaw` (every byte the adapter stored, as text), a store configured with `redact` and `encryption`
 * saves checkpoints, and the runtime's event log and inbox get payloads sealed by `store.sealPayload`, all
 * carrying planted secrets. None of them, and no plaintext of encrypted content, may appear in the dump.
 * Ids, node ids, node paths, statuses and event types are structural and stay in clear.
 */
export function rawStorageSecretTests(ctx: SuiteContext): void {
  if (!ctx.init.dumpRaw) return;
  const dumpRaw = ctx.init.dumpRaw.bind(ctx.init);

  describe('raw storage secrets', () => {
    it('no planted secret and no encrypted plaintext appears in any stored byte', async () => {
      const adapter: StorageAdapter = ctx.adapter();
      const store = ctx.store(adapter, OPTIONS);
      const checkpoint = makeFullCheckpoint({ runId: 'run-secret', originalInput: secrets('input'), metadata: secrets('metadata') });
      const pending = checkpoint.pendingInputs[0]!;
      checkpoint.pendingInputs[0] = { ...pending, prompt: `Send ${CONFIDENTIAL} with ${TOKEN}?`, metadata: secrets('prompt metadata') };
      const fetch = checkpoint.nodeStates.fetch!;
      checkpoint.nodeStates.fetch = { ...fetch, input: secrets('node input'), output: secrets('node output'), internalState: { history: [secrets('state')] } };
      await store.save(checkpoint);
      await store.update(checkpoint.id, { metadata: secrets('update') });

      const caps = adapter.capabilities;
      if (caps.events && adapter.appendEvents) {
        await adapter.appendEvents('run-secret', [
          { type: 'approval_requested', data: store.sealPayload({ prompt: `Send ${CONFIDENTIAL}?`, ...secrets('event') }), ts: Date.now() },
          { type: 'run_completed', data: store.sealPayload({ output: secrets('final output') }), ts: Date.now() },
        ]);
      }
      if (caps.inbox && adapter.putInput) {
        await adapter.putInput('run-secret', {
          key: 'answer-1',
          nodePath: pending.nodePath,
          value: store.sealPayload({ ok: true, ...secrets('answer') }),
          createdAt: Date.now(),
        });
      }

      const raw = await dumpRaw(adapter);
      // the dump is real: the run is there, and encrypted data is
      expect(raw).toContain('run-secret');
      expect(raw).toContain('enc:v1:conformance:');
      for (const planted of [...PLANTED, 'planted-']) expect({ planted, found: raw.includes(planted) }).toEqual({ planted, found: false });

      // and everything still reads back, redacted where the rules say
      const loaded = await store.load(checkpoint.id);
      expect((loaded.originalInput as { text: string; apiKey: string }).apiKey).toBe('[REDACTED]');
      expect(loaded.nodeStates.fetch!.output).toEqual({ ...secrets('node output'), apiKey: '[REDACTED]', nested: { password: '[REDACTED]' }, text: '[REDACTED]' });
      if (caps.events && adapter.readEvents) {
        const [requested] = await adapter.readEvents('run-secret', 0);
        expect(store.openPayload(requested!.data)).toMatchObject({ prompt: `Send ${CONFIDENTIAL}?`, apiKey: '[REDACTED]' });
      }
      if (caps.inbox && adapter.getInput) {
        const answer = await adapter.getInput('run-secret', 'answer-1');
        expect(store.openPayload(answer!.value)).toMatchObject({ ok: true, nested: { password: '[REDACTED]' } });
      }
    });
  });
}
