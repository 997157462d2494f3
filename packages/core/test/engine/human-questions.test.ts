import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeHumanQuestions } from './human-questions.suite.js';

describeHumanQuestions('MemoryAdapter', { create: async () => new MemoryAdapter() });
