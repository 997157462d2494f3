export { runConformanceSuite } from './run-conformance-suite.js';
export type { ConformanceCapabilities, ConformanceInitializer } from './conformance-initializer.js';
export { flipBit, makeCheckpoint, makeFullCheckpoint, makeHeader, seededRandom } from './fixtures.js';
export { recordBlobWrites, type BlobWrite } from './record-blob-writes.js';
export { ChangeRecorder, messageOf } from './change-recorder.js';
