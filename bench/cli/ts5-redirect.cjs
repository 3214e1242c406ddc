// TypeScript 7's npm package has no JavaScript API; tools that require('typescript') at load time
// (eslint-plugin-sonarjs via ts-api-utils) get TypeScript 5.9 instead (the `typescript5` alias).
// Bench-only: loaded with `node --require ./ts5-redirect.cjs`.
const Module = require('node:module');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return original.call(this, request === 'typescript' ? 'typescript5' : request, ...rest);
};
