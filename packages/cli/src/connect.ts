import { BackendUnavailableError, CheckpointStore, type EncryptionConfig, type StorageAdapter } from '@savepoint/core';
import type { BackendSpec } from './backend-url.js';
import { CliError } from './errors.js';

export interface Connection {
  spec: BackendSpec;
  adapter: StorageAdapter;
  store: CheckpointStore;
  close(): Promise<void>;
}

type BackendClass = new (options: Record<string, unknown>) => StorageAdapter;

/**
 * Loads the backend's package on demand (each is an optional peer dependency: a user installs only the one
 * they use), constructs it from the URL's options and sets it up, so an unreachable server is reported here
 * (exit 4) rather than halfway through a command.
 */
export async function connect(spec: BackendSpec, encryption: EncryptionConfig | undefined): Promise<Connection> {
  const Backend = await loadBackendClass(spec);
  const adapter = new Backend(spec.options);
  const store = new CheckpointStore(adapter, encryption ? { encryption } : {});
  const close = async () => {
    await adapter.close?.();
  };
  try {
    await store.setup();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { spec, adapter, store, close };
}

async function loadBackendClass(spec: BackendSpec): Promise<BackendClass> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(spec.packageName)) as Record<string, unknown>;
  } catch (error) {
    if (isMissing(error, spec.packageName)) {
      throw new CliError(
        'BACKEND_PACKAGE_MISSING',
        `The ${spec.kind} backend needs ${spec.packageName}, which is not installed: npm install ${spec.packageName}`,
      );
    }
    throw new BackendUnavailableError(`Loading ${spec.packageName} failed: ${(error as Error).message}`, { cause: error });
  }
  const Backend = loaded[spec.className] ?? (loaded.default as Record<string, unknown> | undefined)?.[spec.className];
  if (typeof Backend !== 'function') {
    throw new BackendUnavailableError(`${spec.packageName} has no ${spec.className} export; install a version matching @savepoint/cli.`);
  }
  return Backend as BackendClass;
}

/** The package itself is missing (not one of its own dependencies, which is another problem to report as is). */
function isMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${packageName}'`);
}
