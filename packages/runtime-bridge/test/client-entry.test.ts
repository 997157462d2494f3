import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const src = join(__dirname, '..', 'src');

/** The modules `file` loads at run time (type-only imports are erased), as the compiled JavaScript names them. */
function runtimeImports(file: string): string[] {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
  return [...outputText.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...outputText.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

/** Every module the entry point loads at run time, following relative imports. */
function graph(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else external.add(specifier);
    }
  };
  visit(entry);
  return { files: [...files].map((file) => file.slice(src.length + 1)).sort(), external: [...external] };
}

// `@savepoint/runtime-bridge/client` must bundle for browsers: nothing it loads may need Node (node:http, ws...)
// or the server's modules (core, zod).
describe('the client entry point', () => {
  it('loads only its own browser-safe modules: no node: module, no package, no server code', () => {
    const { files, external } = graph(join(src, 'client.ts'));
    expect(external).toEqual([]);
    expect(files).toEqual(['client-error.ts', 'client-events.ts', 'client.ts', 'runtime-client.ts']);
  });

  it('sees a runtime import where there is one (the check itself works)', () => {
    expect(graph(join(src, 'index.ts')).external).toEqual(expect.arrayContaining(['@savepoint/core', 'zod', 'node:os']));
  });

  it('is published as ./client with types for import and require, next to the main entry', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports['./client']).toEqual({
      import: { types: './dist/esm/client.d.ts', default: './dist/esm/client.js' },
      require: { types: './dist/cjs/client.d.ts', default: './dist/cjs/client.js' },
    });
    expect(pkg.files).toContain('dist');
  });
});
