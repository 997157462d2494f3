import { sqliteBackend } from './helpers/backends';
import { inProcess, spawned } from './helpers/runners';
import { cliSuite } from './helpers/suite';

cliSuite('savepoint on SQLite (the built bin, as a process)', sqliteBackend, spawned);
cliSuite('savepoint on SQLite (in-process)', sqliteBackend, inProcess);
