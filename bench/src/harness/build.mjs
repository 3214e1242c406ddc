// Building packages/nest before a bench run (node built-ins only: this runs before the
// install check has made sure the harness's dependencies are there).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time (ms) of any file below `dir`. */
export function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The built entry point of @keyward/nest. */
export const nestDist = (root) => join(root, 'packages/nest/dist/src/index.js');

/** `node scripts/build.mjs packages/nest`, its output inherited; true when it succeeded. */
export function buildNest(root) {
  return spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), 'packages/nest'], { cwd: root, stdio: 'inherit' }).status === 0;
}
