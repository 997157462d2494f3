import { describe, expect, it } from '@jest/globals';
import { InProcessNotifier } from '../../src/adapters/index.js';
import type { ChangeMessage } from '../../src/store/storage-adapter.js';

describe('InProcessNotifier', () => {
  it('keeps every subscription apart, even of the same function, and unsubscribes each once', async () => {
    const notifier = new InProcessNotifier();
    const heard: ChangeMessage[] = [];
    const listener = (m: ChangeMessage) => heard.push(m);
    const offA = await notifier.subscribe('r1', listener);
    const offB = await notifier.subscribe('r1', listener);
    expect(notifier.size).toBe(2);
    await notifier.publish({ runId: 'r1', kind: 'lease' });
    expect(heard).toHaveLength(2);
    await offA();
    await offA();
    expect(notifier.size).toBe(1);
    await notifier.publish({ runId: 'r1', kind: 'lease' });
    expect(heard).toHaveLength(3);
    await offB();
    expect(notifier.size).toBe(0);
    await notifier.publish({ runId: 'r1', kind: 'lease' });
    expect(heard).toHaveLength(3);
  });

  it('a throwing listener neither fails the publisher nor silences the others', async () => {
    const notifier = new InProcessNotifier();
    const heard: string[] = [];
    await notifier.subscribe('r1', () => {
      throw new Error('listener bug');
    });
    await notifier.subscribe('*', (m) => heard.push(m.runId));
    await expect(notifier.publish({ runId: 'r1', kind: 'input' })).resolves.toBeUndefined();
    expect(heard).toEqual(['r1']);
  });

  it('a listener that unsubscribes while called does not disturb the current delivery', async () => {
    const notifier = new InProcessNotifier();
    const heard: string[] = [];
    const off = await notifier.subscribe('r1', () => {
      heard.push('first');
      void off();
    });
    await notifier.subscribe('r1', () => heard.push('second'));
    await notifier.publish({ runId: 'r1', kind: 'event', seq: 1 });
    await notifier.publish({ runId: 'r1', kind: 'event', seq: 2 });
    expect(heard).toEqual(['first', 'second', 'second']);
  });
});
