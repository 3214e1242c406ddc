// Builds workspaces in dependency order with tsc.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['packages/nest', 'packages/cli', 'apps/demo-upstream', 'apps/demo', 'apps/vulnerable'];
// `node scripts/build.mjs [dirs...]` builds the given workspaces (in this order), default all.
const wanted = process.argv.slice(2);
const order = wanted.length > 0 ? all.filter((d) => wanted.includes(d)) : all;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
for (const dir of order) {
  const project = join(root, dir, 'tsconfig.json');
  if (!existsSync(project)) continue;
  const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[build] ${dir} failed`);
    process.exit(r.status ?? 1);
  }
}
