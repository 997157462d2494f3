// Lets a plain `node` child process load the packages' TypeScript sources, as jest does for the parent:
// `@savepoint/*` maps to packages/*/src and `./x.js` imports to `./x.ts`, compiled with swc.
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const packagesDir = path.resolve(__dirname, '../../..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const workspace = /^@savepoint\/([a-z-]+)$/.exec(request);
  if (workspace) return path.join(packagesDir, workspace[1], 'src/index.ts');
  if (request.startsWith('.') && request.endsWith('.js') && parent && parent.filename.endsWith('.ts')) {
    const source = path.resolve(path.dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (fs.existsSync(source)) return source;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};
Module._extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
