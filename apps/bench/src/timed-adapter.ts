// A thin timing wrapper around a real StorageAdapter: every call goes to the adapter unchanged, and the calls
// that commit a checkpoint (`commitCheckpoint`, or `putHeader` for an adapter without it) are timed. The store
// commits each checkpoint with exactly one of them, so each sample is one checkpoint's commit latency as the
// engine waits for it (queueing for a connection and the event loop included).
import type { StorageAdapter } from '@savepoint/core';

const COMMITS = new Set<PropertyKey>(['commitCheckpoint', 'putHeader']);

export function timedCommits(adapter: StorageAdapter, record: (ms: number) => void): StorageAdapter {
  return new Proxy(adapter, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Bound to the adapter itself: its methods may use private fields, which a proxy as `this` would not have.
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (!COMMITS.has(property)) return method;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          return await method(...args);
        } finally {
          record(performance.now() - t);
        }
      };
    },
  });
}
