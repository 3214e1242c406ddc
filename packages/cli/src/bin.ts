#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+ keeps the compiled code of the modules a run loads (TypeScript's 9 MB above all) in
// its compile cache, so the next run starts without compiling them again. Older Node has no such
// cache; the call is skipped there and any failure to set it up only costs the speed-up.
try {
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
} catch {
  // no cache
}
const { runCli } = await import('./cli.js');

process.exitCode = await runCli(process.argv.slice(2));
