import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeRetries } from './retries.suite.js';

describeRetries('MemoryAdapter', { create: async () => new MemoryAdapter() });
