export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.js';
