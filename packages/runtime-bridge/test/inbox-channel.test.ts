import { afterEach, describe, expect, it } from '@jest/globals';
import { CheckpointStore, MemoryAdapter, silentLogger, type PendingInputContext } from '@savepoint/core';
import { z } from 'zod';
import { sealAnswer } from '../src/answer-inbox.js';
import { ChangeFeed } from '../src/change-feed.js';
import { InboxChannel } from '../src/inbox-channel.js';

// The live channel delivers an answer only to the question it names; answers to other questions are taken from
// the inbox (nothing stale stays there) and handed back as leftovers, never delivered to a request at their path.
describe('InboxChannel', () => {
  const feeds: ChangeFeed[] = [];
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.close()));
  });

  const schema = z.object({ ok: z.boolean() });
  const question = (requestId: string): PendingInputContext => ({ nodePath: 'approve', requestId, prompt: '?', schema: {}, requestedAt: new Date(), metadata: {} });

  function setup() {
    const adapter = new MemoryAdapter();
    const store = new CheckpointStore(adapter);
    const feed = new ChangeFeed(adapter, 10, () => undefined, silentLogger);
    feeds.push(feed);
    const errors: string[] = [];
    const channel = new InboxChannel({ adapter, feed, runId: 'run-1', store, consumer: 'w', timeoutMs: 50, onCancel: () => undefined, onError: (_e, c) => errors.push(c) });
    const post = (requestId: string, value: unknown, key = 'k') =>
      adapter.putInput('run-1', sealAnswer(store, { requestId, nodePath: 'approve', value, idempotencyKey: key }, Date.now()));
    return { adapter, channel, post, errors };
  }
  const ask = (channel: InboxChannel, requestId: string) => channel.request(question(requestId), { runId: 'run-1', schema, signal: new AbortController().signal });

  it('an answer to Q1 is not delivered to Q2 at the same nodePath, and does not stay in the inbox', async () => {
    const { adapter, channel, post } = setup();
    await post('q1', { ok: true });
    expect(await ask(channel, 'q2')).toEqual({ answered: false });
    expect(await adapter.takeInputs('run-1', 'someone-else')).toEqual([]);
    expect(channel.leftovers()).toEqual([{ requestId: 'q1', nodePath: 'approve', value: { ok: true }, idempotencyKey: 'k' }]);
    await post('q2', { ok: false }, 'k2');
    expect(await ask(channel, 'q2')).toEqual({ answered: true, value: { ok: false } });
  });

  it('an answer that fails to open (tampered) is reported and never delivered', async () => {
    const { adapter, channel, errors } = setup();
    await adapter.putInput('run-1', { key: 'answer.q1', nodePath: 'approve', value: 'not a sealed payload', createdAt: Date.now() });
    expect(await ask(channel, 'q1')).toEqual({ answered: false });
    expect(errors).toEqual(['opening an answer to run run-1']);
  });
});
