import { describe, expect, it } from '@jest/globals';
import type { TelemetryTraceState } from '../../src/index.js';
import { fromTraceContext, toTraceContext } from '../../src/telemetry/traceparent.js';

describe('W3C traceparent', () => {
  it('round-trips a span context, with its trace state', () => {
    const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    const stored = toTraceContext({ ...spanContext, traceState: { serialize: () => 'congo=t61rcWkgMzE' } as TelemetryTraceState });
    expect(stored).toEqual({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61rcWkgMzE' });
    expect(fromTraceContext(stored)).toEqual({ ...spanContext, isRemote: true });
    expect(toTraceContext({ ...spanContext, traceFlags: 0 })).toEqual({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' });
  });

  it('refuses what it cannot continue: another version, malformed ids, all-zero ids', () => {
    for (const traceparent of [
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '',
    ]) {
      expect(fromTraceContext({ traceparent })).toBeUndefined();
    }
    expect(fromTraceContext({ traceparent: ' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 ' })?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});
