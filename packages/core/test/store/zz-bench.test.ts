import { it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, countingAdapter, next, node } from './helpers.js';
it.each([true, false])('bench frozen=%s', async (freeze) => {
  const { adapter, total } = countingAdapter(new MemoryAdapter());
  const store = new CheckpointStore(adapter);
  let cp = checkpoint();
  let messages: object[] = [];
  const times: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < 2000; i += 1) {
    const m = { role: 'user', content: `${i}`.padEnd(i % 3 === 0 ? 2048 : 200, 'x') };
    messages = [...messages, freeze ? Object.freeze(m) : m];
    if (freeze) Object.freeze(messages);
    if (i) cp = next(cp);
    cp = { ...cp, nodeStates: { agent: node('agent', { internalState: { messages, loop: i } }) } };
    const t = performance.now();
    const r = await store.save(cp, { expectedHead: cp.parentCheckpointId });
    times.push(performance.now() - t);
    bytes.push(r.bytesWritten);
  }
  const avg = (a: number[]) => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(3);
  const t = performance.now();
  await new CheckpointStore(adapter).load(cp.id);
  console.log(`frozen=${freeze} total=${(total() / 1024).toFixed(0)}KB first100 ${avg(times.slice(0, 100))}ms last100 ${avg(times.slice(-100))}ms bytes last100 ${avg(bytes.slice(-100))} max ${Math.max(...bytes)} load ${(performance.now() - t).toFixed(1)}ms`);
}, 120000);
