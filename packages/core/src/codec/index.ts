export {
  Codec,
  DEFAULT_MAX_DEPTH,
  defaultCodec,
  formatPath,
  REDACTED,
  TAG,
  type CodecOptions,
  type CustomType,
  type DecodeOptions,
  type EncodeHooks,
  type EncodeOptions,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
  type RedactRules,
} from './codec.js';
export { assertEncodable, type AssertEncodableOptions } from './assert-encodable.js';
export { compileRedaction } from './redaction.js';
