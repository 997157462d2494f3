import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeUnstorableState } from './unstorable-state.suite.js';

describeUnstorableState('MemoryAdapter', { create: async () => new MemoryAdapter() });
