// Issue 16: which way the imports of packages/nest/src point (docs/architecture.md). Each
// folder (a root-level file counts as its own) may import only the folders its row names:
// nothing lower imports anything higher, so the edge (http/) is imported only by the
// module that wires it, the vault never imports the session engine, no store imports the
// vault or the session engine, and the error catalogue imports nothing. Type-only imports
// count: they couple as much as any other. `node scripts/nest-layers.mjs` prints the graph.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const src = join(root, 'packages/nest/src');

/** Folder -> the folders it may import, top to bottom. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // The public entry point re-exports from everywhere.
  index: ['*'],
  // Wiring only: the edge, the capabilities, the lifecycle binding.
  'keyward.module': ['http/', 'events/', 'oauth/', 'oidc/', 'options/', 'origin/', 'proxy/', 'redaction/', 'session/', 'vault/', 'keyward.module-definition', 'keyward.startup-report', 'keyward.internal-constants'],
  'keyward.module-definition': ['oauth/', 'oidc/', 'options/', 'keyward.internal-constants'],
  'keyward.startup-report': ['http/', 'options/', 'keyward.errors', 'keyward.constants', 'keyward.internal-constants'],
  // The edge: entry points, steps, Nest guards and filter, the one error writer.
  'http/': ['events/', 'options/', 'origin/', 'proxy/', 'redaction/', 'session/', 'transport/', 'keyward.errors', 'keyward.constants', 'keyward.internal-constants'],
  // Option validation and the production self-audit, over every capability's options.
  'options/': ['oauth/', 'oidc/', 'origin/', 'proxy/', 'redaction/', 'session/', 'stores/', 'transport/', 'vault/', 'util/', 'keyward.errors'],
  // The capabilities.
  // Connected accounts: the flows (openid-client) and their routes; token custody is a vault provider.
  'oidc/': ['oauth/', 'session/', 'stores/', 'transport/', 'vault/', 'util/', 'keyward.errors', 'keyward.constants', 'keyward.internal-constants'],
  'oauth/': ['redaction/', 'session/', 'stores/', 'transport/', 'vault/', 'util/', 'keyward.errors', 'keyward.constants', 'keyward.internal-constants'],
  'proxy/': ['origin/', 'redaction/', 'stores/', 'vault/', 'util/', 'keyward.errors'],
  'session/': ['events/', 'stores/', 'util/', 'keyward.errors'],
  'vault/': ['events/', 'redaction/', 'stores/', 'session/session.types.ts', 'util/', 'keyward.errors'],
  // Pure policies: functions of a request's headers and of their own options.
  'origin/': ['util/'],
  'transport/': ['util/'],
  'stores/': ['util/', 'keyward.errors'],
  'redaction/': ['util/', 'keyward.errors'],
  // Security events: the stream and the log line; names sessions only by keyed hashes.
  'events/': ['redaction/'],
  'util/': ['keyward.errors'],
  // The ground: imported by all, importing nothing.
  'keyward.errors': [],
  'keyward.constants': [],
  'keyward.internal-constants': [],
};

/** Packages a pure policy may import: Node's own modules only (no Nest, no adapter). */
const PURE = ['origin/', 'transport/'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.c?ts$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
  });
}

/** The folder of a file under src (`http/`), or the root-level file's own name (`keyward.errors`). */
function folderOf(file: string): string {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? `${parts[0]}/` : parts[0]!.replace(/\.c?ts$/, '');
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Edge {
  file: string;
  from: string;
  to: string;
  target: string;
}

function imports(): { local: Edge[]; packages: Array<{ file: string; from: string; spec: string }> } {
  const local: Edge[] = [];
  const packages: Array<{ file: string; from: string; spec: string }> = [];
  for (const file of files(src)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) {
        packages.push({ file: relative(src, file), from, spec });
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.(c?)js$/, '.$1ts'));
      assert.ok(target.startsWith(src + sep), `${relative(src, file)} imports ${spec}, outside src`);
      const to = folderOf(target);
      if (to !== from) local.push({ file: relative(src, file), from, to, target: relative(src, target).split(sep).join('/') });
    }
  }
  return { local, packages };
}

function allowed(e: Edge): boolean {
  const row = ALLOWED[e.from];
  if (!row) return false;
  return row.includes('*') || row.includes(e.to) || row.includes(e.target);
}

describe('dependency direction of packages/nest/src (issue 16)', () => {
  const { local, packages } = imports();

  it('reads the imports (the scan works)', () => {
    assert.ok(local.length > 100, `only ${local.length} imports between folders found`);
    assert.ok(local.some((e) => e.from === 'http/' && e.to === 'session/'), 'the edge imports the session engine');
  });

  it('every folder is in the table', () => {
    const unknown = [...new Set(files(src).map(folderOf))].filter((f) => !(f in ALLOWED));
    assert.deepEqual(unknown, [], 'a new folder needs a row in ALLOWED (and a line in docs/architecture.md)');
  });

  it('no import runs against the direction', () => {
    const against = local.filter((e) => !allowed(e)).map((e) => `${e.file} -> ${e.target}`);
    assert.deepEqual(against, []);
  });

  it('only the wiring imports the edge; the vault never imports the session engine; stores import neither', () => {
    assert.deepEqual(local.filter((e) => e.to === 'http/' && !['index', 'keyward.module', 'keyward.startup-report'].includes(e.from)).map((e) => e.file), []);
    assert.deepEqual(local.filter((e) => e.from === 'vault/' && e.to === 'session/' && e.target !== 'session/session.types.ts').map((e) => e.file), []);
    assert.deepEqual(local.filter((e) => e.from === 'stores/' && ['vault/', 'session/'].includes(e.to)).map((e) => e.file), []);
  });

  it('the error catalogue and the constants import nothing at all', () => {
    const ground = ['keyward.errors', 'keyward.constants', 'keyward.internal-constants'];
    assert.deepEqual([...local, ...packages].filter((e) => ground.includes(e.from)).map((e) => e.file), []);
  });

  it('the pure policies import no framework', () => {
    const foreign = packages.filter((p) => PURE.includes(p.from) && !p.spec.startsWith('node:'));
    assert.deepEqual(foreign.map((p) => `${p.file}: ${p.spec}`), []);
  });
});
