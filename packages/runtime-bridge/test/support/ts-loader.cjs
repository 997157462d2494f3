// Lets a child process load the workspace's TypeScript sources directly, exactly as jest does
// (jest.preset.cjs: @savepoint/* -> packages/*/src, `.js` specifiers -> `.ts` files), so a spawned
// server runs the same code as the test without a build step.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const PACKAGES = path.join(__dirname, '../../..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const workspace = /^@savepoint\/(core|backend-[a-z]+|runtime-bridge)$/.exec(request);
  if (workspace) return path.join(PACKAGES, workspace[1], 'src/index.ts');
  if (/^\.{1,2}\//.test(request) && request.endsWith('.js') && parent?.filename?.endsWith('.ts')) {
    const candidate = path.resolve(path.dirname(parent.filename), request.replace(/\.js$/, '.ts'));
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolve.call(this, request, parent, ...rest);
};
require.extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
