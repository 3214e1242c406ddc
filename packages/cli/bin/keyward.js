#!/usr/bin/env node
// Committed launcher for the `keyward` command. npm links a workspace's bin only when its target
// exists at install time; dist/ is built after `npm ci`, so the bin points here, not into dist/.
import('../dist/src/bin.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/bin.js')) {
    console.error('keyward: @keyward/cli is not built yet; run `npm run build` at the repository root.');
  } else {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  }
  process.exit(2);
});
