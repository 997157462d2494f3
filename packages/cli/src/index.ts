export { runCli } from './cli.js';
export { parseBackendUrl, type BackendFlags, type BackendKind, type BackendSpec } from './backend-url.js';
export { CliError, EXIT, type CliErrorCode, type ExitCode } from './errors.js';
export type { CliIo, Stream } from './output.js';
