/**
 * JSON for the wire and the event log. Workflow data may hold values JSON.stringify rejects or loses
 * (BigInt, Map, Set, bytes, errors, cycles); an event or response must never fail because of them, so
 * they get a readable stand-in instead.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, replacer) ?? 'null';
  } catch {
    // A cycle: drop the repeated references (a shared but acyclic object may be dropped too, which is acceptable here).
    const seen = new WeakSet<object>();
    return (
      JSON.stringify(value, function (this: unknown, key, raw: unknown) {
        const replaced = replacer.call(this, key, raw);
        if (typeof replaced === 'object' && replaced !== null) {
          if (seen.has(replaced)) return '[Circular]';
          seen.add(replaced);
        }
        return replaced;
      }) ?? 'null'
    );
  }
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
  if (value instanceof Set) return [...value];
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return value;
}
