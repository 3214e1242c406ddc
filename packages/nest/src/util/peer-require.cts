// CommonJS on purpose (a .cts file compiles to .cjs in both the ES module and the CommonJS
// build): its `require` resolves packages from this package's own folder, with no
// `import.meta`, and loads them synchronously, so store constructors stay synchronous.

/** `require` of this package, for its optional peer dependencies. */
export const peerRequire: NodeJS.Require = require;
