import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

// The `*.types.ts` fixtures hold compile-time checks: `expectType<Equal<...>>()` lines and `@ts-expect-error` lines
// (tsc reports one that meets no error). Compiling them is the test; the strict settings are a user's.
const fixtures = readdirSync(__dirname)
  .filter((name) => name.endsWith('.types.ts'))
  .map((name) => join(__dirname, name));

function diagnostics(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    exactOptionalPropertyTypes: false,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('compile-time types', () => {
  it('has fixtures to compile', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it('compiles every type fixture: each inference holds and each @ts-expect-error meets its error', () => {
    expect(diagnostics(fixtures)).toEqual([]);
  }, 120_000);

  it('fails when an inference does not hold (the check can fail)', () => {
    const broken = join(__dirname, 'fixtures', 'broken.ts');
    expect(diagnostics([broken]).join('\n')).toMatch(/broken\.ts:\d+ .*Unused '@ts-expect-error' directive[\s\S]*broken\.ts:\d+ Type 'false' does not satisfy the constraint 'true'/);
  }, 120_000);
});
