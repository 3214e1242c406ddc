// Builds workspaces in dependency order with tsc (packages/core first: @keyward/nest and
// @keyward/cli import it). A workspace with a tsconfig.cjs.json (the published
// @keyward/core and @keyward/nest) is also built as CommonJS into dist/cjs, marked as such
// by a dist/cjs/package.json, for NestJS 11 / CommonJS / Jest apps.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['packages/core', 'packages/nest', 'packages/cli', 'apps/demo-upstream', 'apps/demo', 'apps/vulnerable'];
// `node scripts/build.mjs [dirs...]` builds the given workspaces (in this order), default all.
const wanted = process.argv.slice(2);
const order = wanted.length > 0 ? all.filter((d) => wanted.includes(d)) : all;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
function compile(dir, config) {
  const project = join(root, dir, config);
  if (!existsSync(project)) return false;
  const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[build] ${dir} (${config}) failed`);
    process.exit(r.status ?? 1);
  }
  return true;
}

for (const dir of order) {
  compile(dir, 'tsconfig.json');
  if (compile(dir, 'tsconfig.cjs.json')) {
    const cjs = join(root, dir, 'dist', 'cjs');
    mkdirSync(cjs, { recursive: true });
    writeFileSync(join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
  }
}
