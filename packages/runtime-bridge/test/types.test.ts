import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const here = join(__dirname, 'types');

/** Compiles the fixtures with the package's compiler options; returns each file's errors as `line: message`. */
function compile(files: string[]): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(__dirname, '..', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  const program = ts.createProgram(files, { ...config!.options, noEmit: true });
  const errors: Record<string, string[]> = Object.fromEntries(files.map((file) => [file, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName ?? 'global';
    const line = diagnostic.file ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1 : 0;
    (errors[file] ??= []).push(`${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
  }
  return errors;
}

// The types of typed events and of the typed client, checked by the compiler itself.
describe('types', () => {
  it('compile: narrowing on event.type types data, the client is typed by the runtime, every @ts-expect-error is met', () => {
    const fixture = join(here, 'client.types.ts');
    const canary = join(here, 'canary.types.ts');
    const errors = compile([fixture, canary]);
    expect(errors[fixture]).toEqual([]);
    expect(errors[canary]).toEqual([expect.stringMatching(/^6: Type 'string' is not assignable to type 'number'/)]);
    expect(Object.keys(errors).sort()).toEqual([canary, fixture].sort());
  }, 120_000);
});
