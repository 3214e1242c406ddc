// Builds workspaces in dependency order with tsc. `node scripts/build.mjs [dirs...]` builds
// the given workspaces and every workspace they depend on (read from their package.json:
// asking for packages/nest also builds packages/core, which it imports), default all.
// A workspace with a tsconfig.cjs.json (the published @keyward/core and @keyward/nest) is
// also built as CommonJS into dist/cjs, marked as such by a dist/cjs/package.json, for
// NestJS 11 / CommonJS / Jest apps.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;

/** Workspace dir -> the workspace dirs it depends on (dependencies of any kind). */
const byName = new Map();
const depsOf = new Map();
for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  byName.set(pkg.name, dir);
  depsOf.set(dir, Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }));
}
for (const [dir, names] of depsOf) depsOf.set(dir, names.filter((n) => byName.has(n)).map((n) => byName.get(n)));

const wanted = process.argv.slice(2);
const unknown = wanted.filter((d) => !depsOf.has(d.replace(/\/$/, '')));
if (unknown.length > 0) {
  console.error(`[build] not a workspace: ${unknown.join(', ')} (workspaces: ${workspaces.join(', ')})`);
  process.exit(2);
}
// Depth-first: a workspace is listed after everything it depends on.
const order = [];
const visit = (dir, path = []) => {
  if (order.includes(dir)) return;
  if (path.includes(dir)) throw new Error(`[build] workspace cycle: ${[...path, dir].join(' -> ')}`);
  for (const dep of depsOf.get(dir)) visit(dep, [...path, dir]);
  order.push(dir);
};
for (const dir of wanted.length > 0 ? wanted.map((d) => d.replace(/\/$/, '')) : workspaces) visit(dir);

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
