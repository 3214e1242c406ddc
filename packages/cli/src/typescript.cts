/*
 * The TypeScript compiler API, loaded with `require`. The package is CommonJS: imported from an ES
 * module, Node first scans its 9 MB for module syntax and then for named exports (cjs-module-lexer),
 * about a third of a second on every run of `keyward audit`; required, it is only compiled. The
 * audit engine and the rules import `ts` from here; the value and the types are those of
 * `typescript5` (TypeScript 5.9, the version with a JavaScript API).
 */
import ts = require('typescript5');

export = ts;
