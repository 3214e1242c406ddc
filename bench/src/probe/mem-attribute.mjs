// Who holds the ArrayBuffer memory (issue 18): diffs two V8 heap snapshots of the same
// process (e.g. taken by `node scripts/soak.mjs --heap-snapshots 60,240`) by the retainer
// path of every ArrayBuffer backing store, and prints the holders whose bytes grew.
//   node --max-old-space-size=8000 bench/src/probe/mem-attribute.mjs a.heapsnapshot b.heapsnapshot [--per N] [--top K]
// `--per N` divides each holder's growth by N (e.g. the logins between the two snapshots).
// Node 20's snapshots give each JSArrayBuffer a `backing_store` edge to a native node whose
// self size is the buffer's byte length; the path is the shortest one from the GC roots
// (breadth first over strong edges), named by the nearest named holders (a Map, a class
// instance, a module variable), so a slab kept alive by one small slice is charged to
// whatever holds that slice.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
};
const per = Number(opt('per', '0'));
const top = Number(opt('top', '15'));
const showRaw = args.includes('--raw') ? (args.splice(args.indexOf('--raw'), 1), true) : false;
const [fileA, fileB] = args;
if (!fileA || !fileB) {
  console.error('usage: mem-attribute.mjs a.heapsnapshot b.heapsnapshot [--per N] [--top K]');
  process.exit(2);
}

function load(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const N = snap.nodes.length / nf;
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iSize = meta.node_fields.indexOf('self_size');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += snap.nodes[i * nf + iEdges];
    firstEdge[i + 1] = e;
  }
  const type = (i) => nodeTypes[snap.nodes[i * nf + iType]];
  const name = (i) => snap.strings[snap.nodes[i * nf + iName]];
  const size = (i) => snap.nodes[i * nf + iSize];
  const edgeName = (e) => {
    const t = edgeTypes[snap.edges[e * ef + eType]];
    const v = snap.edges[e * ef + eName];
    return t === 'element' || t === 'hidden' ? `[${v}]` : String(snap.strings[v]);
  };
  // Shortest strong path from the root (node 0).
  const parent = new Int32Array(N).fill(-1);
  const via = new Int32Array(N).fill(-1);
  parent[0] = 0;
  let queue = [0];
  while (queue.length) {
    const next = [];
    for (const n of queue) {
      for (let e = firstEdge[n]; e < firstEdge[n + 1]; e++) {
        const t = edgeTypes[snap.edges[e * ef + eType]];
        if (t === 'weak' || t === 'shortcut') continue;
        const to = snap.edges[e * ef + eTo] / nf;
        if (parent[to] !== -1) continue;
        parent[to] = n;
        via[to] = e;
        next.push(to);
      }
    }
    queue = next;
  }
  // Every backing store, charged to a holder described by its path.
  const holders = new Map();
  let total = 0;
  for (let n = 0; n < N; n++) {
    if (type(n) !== 'object' || name(n) !== 'ArrayBuffer') continue;
    let bytes = 0;
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e++) {
      if (edgeName(e) === 'backing_store') bytes += size(snap.edges[e * ef + eTo] / nf);
    }
    if (bytes === 0) continue;
    total += bytes;
    const [key, raw] = describe(n);
    const h = holders.get(key) ?? { bytes: 0, count: 0, raw };
    h.bytes += bytes;
    h.count++;
    holders.set(key, h);
  }
  function describe(n) {
    if (parent[n] === -1) return ['(unreachable: waiting for GC)', ''];
    const hops = [];
    for (let at = n, k = 0; at !== 0 && k < 40; at = parent[at], k++) hops.push(`${edgeName(via[at])}:${type(parent[at]) === 'object' || type(parent[at]) === 'closure' ? name(parent[at]) : type(parent[at])}`);
    // Nearest holders first; keep the ones that name something (skip arrays, hidden links and system internals).
    // Keep the links that name something: a property, a module or closure variable (not an
    // array index, not V8's internal links).
    const named = hops.filter((h) => !/^(\[\d+\]|\d+|map|table|elements|properties|buffer|backing_store|__proto__|context|native|code|shared|feedback_cell|prototype|constructor|part of key.*|internal.*):/.test(h));
    // Numbers (node ids, indexes) differ between holders of one kind: group them as one.
    const key = (named.slice(0, 3).join(' < ') || hops.slice(0, 4).join(' < ')).replace(/@\d+/g, '@').replace(/\b\d+\b/g, '#');
    return [key, hops.slice(0, 14).join(' < ')];
  }
  return { holders, total };
}

const a = load(fileA);
const b = load(fileB);
const rows = [];
for (const [key, hb] of b.holders) {
  const ha = a.holders.get(key) ?? { bytes: 0, count: 0 };
  rows.push({ holder: key, before: ha.bytes, after: hb.bytes, grew: hb.bytes - ha.bytes, buffers: hb.count - ha.count, raw: hb.raw });
}
for (const [key, ha] of a.holders) if (!b.holders.has(key)) rows.push({ holder: key, before: ha.bytes, after: 0, grew: -ha.bytes, buffers: -ha.count });
rows.sort((x, y) => y.grew - x.grew);
const kib = (v) => (v / 1024).toFixed(1);
console.log(`ArrayBuffer backing stores: ${kib(a.total)} KiB -> ${kib(b.total)} KiB (${kib(b.total - a.total)} KiB grew${per ? `, ${((b.total - a.total) / per).toFixed(0)} B per unit` : ''})`);
console.log(`grew KiB | ${per ? 'B/unit | ' : ''}buffers | holder (nearest first)`);
for (const r of rows.slice(0, top)) {
  console.log(`${kib(r.grew).padStart(8)} | ${per ? `${(r.grew / per).toFixed(0).padStart(6)} | ` : ''}${String(r.buffers).padStart(7)} | ${r.holder}`);
  if (showRaw && r.raw) console.log(`         path of one: ${r.raw}`);
}
