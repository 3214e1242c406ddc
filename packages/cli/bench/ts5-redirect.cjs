// eslint-plugin-sonarjs and typescript-eslint require('typescript') for its JavaScript API, which
// TypeScript 7's npm package no longer ships; hand them TypeScript 5.9 (the `typescript5` alias
// keyward itself uses). Bench only: `node --require ./bench/ts5-redirect.cjs …`.
const Module = require('node:module');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return original.call(this, request === 'typescript' ? 'typescript5' : request, ...rest);
};
