import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeNodeResume } from './node-resume.suite.js';

describeNodeResume('MemoryAdapter', { create: async () => new MemoryAdapter() });
