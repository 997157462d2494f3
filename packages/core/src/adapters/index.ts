export { MemoryAdapter, type MemoryAdapterOptions } from './memory-adapter.js';
