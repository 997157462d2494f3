import { defaultCodec, type Codec } from './codec.js';

export interface AssertEncodableOptions {
  /** Codec whose custom types and `maxDepth` apply. Default: `defaultCodec`. */
  codec?: Codec;
  /** Overrides the codec's `maxDepth` (default `DEFAULT_MAX_DEPTH`, 1,000). */
  maxDepth?: number;
  /** Where the value sits, named in the error, e.g. `input`. */
  path?: string;
}

/**
 * Throws `UnserializableStateError` (its `path` names the spot) when `value` could not be checkpointed: nested
 * deeper than `maxDepth`, or holding a function, a symbol, a cycle, an unregistered class instance... Lets a
 * server refuse a run's input before accepting the run. Costs one encode of the value; stores nothing.
 */
export function assertEncodable(value: unknown, options: AssertEncodableOptions = {}): void {
  (options.codec ?? defaultCodec).encode(value, { path: options.path, maxDepth: options.maxDepth });
}
