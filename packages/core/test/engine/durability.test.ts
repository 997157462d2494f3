import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeDurability } from './durability.suite.js';

describeDurability('MemoryAdapter', { create: async () => new MemoryAdapter() });
