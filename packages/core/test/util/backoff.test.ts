import { describe, expect, it } from '@jest/globals';
import { retryDelayMs, sleep } from '../../src/util/backoff.js';

const options = { baseDelayMs: 100, maxDelayMs: 5_000 };

describe('retryDelayMs', () => {
  it('honours Retry-After in seconds or as an HTTP date, capped', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryDelayMs(0, '2', options, now)).toBe(2_000);
    expect(retryDelayMs(0, 'Wed, 01 Jan 2025 00:00:03 GMT', options, now)).toBe(3_000);
    expect(retryDelayMs(0, '3600', options, now)).toBe(5_000);
    expect(retryDelayMs(0, 'Tue, 31 Dec 2024 00:00:00 GMT', options, now)).toBe(0);
  });

  it('backs off exponentially with jitter when the server gives no hint', () => {
    for (const attempt of [0, 1, 2, 3]) {
      const delay = retryDelayMs(attempt, attempt % 2 ? null : 'soon', options);
      expect(delay).toBeGreaterThanOrEqual(50 * 2 ** attempt);
      expect(delay).toBeLessThanOrEqual(100 * 2 ** attempt);
    }
    expect(retryDelayMs(20, null, options)).toBe(5_000);
  });
});

describe('sleep', () => {
  it('resolves, or rejects with the abort reason', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error('bye'));
    await expect(waiting).rejects.toThrow('bye');
    await expect(sleep(1, controller.signal)).rejects.toThrow('bye');
  });
});
