// Lists the imports between the folders of a source tree (default packages/nest/src), for
// reviewing its shape: files per folder, folder -> folder imports (with how many import
// lines), and the folders that import each other in a circle (an import running back up).
// A root-level file counts as a folder of its own. Type-only imports count too.
//   node scripts/nest-layers.mjs [dir] [--json]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const src = resolve(root, args.find((a) => !a.startsWith('--')) ?? 'packages/nest/src');
const asJson = args.includes('--json');

const files = (dir) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : /\.c?ts$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
});
/** The folder a file belongs to (its first folder under src), or the file's own name at the root. */
const roomOf = (file) => {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? `${parts[0]}/` : parts[0].replace(/\.c?ts$/, '');
};
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

const perRoom = new Map();
const edges = new Map();
for (const file of files(src)) {
  const from = roomOf(file);
  perRoom.set(from, (perRoom.get(from) ?? 0) + 1);
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = resolve(dirname(file), (m[1] ?? m[2]).replace(/\.c?js$/, (x) => x.replace('js', 'ts')));
    if (!target.startsWith(src + sep)) continue;
    const to = roomOf(target);
    if (to === from) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
  }
}

// Folders in a circle: the strongly connected components (Tarjan) with more than one folder.
const next = new Map();
for (const key of edges.keys()) {
  const [a, b] = key.split(' -> ');
  next.set(a, [...(next.get(a) ?? []), b]);
}
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), circles = [];
const visit = (v) => {
  idx.set(v, index); low.set(v, index++); stack.push(v); on.add(v);
  for (const w of next.get(v) ?? []) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do { w = stack.pop(); on.delete(w); c.push(w); } while (w !== v);
    if (c.length > 1) circles.push(c.sort());
  }
};
for (const v of perRoom.keys()) if (!idx.has(v)) visit(v);
const inCircle = [...edges.keys()].filter((k) => { const [a, b] = k.split(' -> '); return circles.some((c) => c.includes(a) && c.includes(b)); });

const report = {
  folders: Object.fromEntries([...perRoom].sort()),
  files: [...perRoom.values()].reduce((a, b) => a + b, 0),
  imports: Object.fromEntries([...edges].sort()),
  folderPairs: edges.size,
  circles,
  importsInCircles: inCircle.sort(),
};
if (asJson) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`${relative(root, src)}: ${report.files} files in ${perRoom.size} folders/root files`);
  for (const [room, n] of Object.entries(report.folders)) console.log(`  ${room.padEnd(30)} ${n} file(s)`);
  console.log(`\nimports between folders: ${report.folderPairs} folder pairs`);
  for (const [k, n] of Object.entries(report.imports)) console.log(`  ${k.padEnd(56)} ${n}`);
  console.log(`\nfolders importing each other in a circle: ${circles.length === 0 ? 'none' : circles.map((c) => c.join(' <-> ')).join('; ')}`);
  console.log(`folder pairs inside those circles (the imports that run back up): ${inCircle.length}`);
  for (const k of inCircle) console.log(`  ${k}`);
}
