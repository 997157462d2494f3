export {
  Codec,
  defaultCodec,
  formatPath,
  REDACTED,
  TAG,
  type CustomType,
  type DecodeOptions,
  type EncodeHooks,
  type EncodeOptions,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
  type RedactRules,
} from './codec.js';
export { compileRedaction } from './redaction.js';
