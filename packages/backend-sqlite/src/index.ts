export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.js';
export { migrations, type Migration } from './migrations/index.js';
export type { TableNames } from './table-names.js';
