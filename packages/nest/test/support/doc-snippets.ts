import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * The code blocks of the repository's Markdown, as a user copies them, and a TypeScript
 * project made of them. Used by `doc-snippets.test.ts` (every TypeScript block compiles
 * against the built packages) and `quick-start.e2e.test.ts` (the quick start, run).
 *
 * Conventions a doc may use (documented in DEVELOPERS.md, "Docs are tested"):
 * - A block whose first line is a path comment alone (`// src/app.module.ts`) is that file
 *   of the doc's project, so the doc's other files can import it (`./auth.controller.js`).
 *   Other blocks (`// main.ts: ...` with more text included) are files of their own.
 * - An HTML comment on the line(s) just before a block (never shown by a Markdown viewer):
 *   `<!-- snippet: <flags>` on its first line, then optional TypeScript (the prelude: what a
 *   deliberately partial block assumes, e.g. `declare const app: INestApplication;`), then
 *   `-->`. Flags: `skip=<why>` (not compiled: rare, say why), `project=<doc.md>` (the block
 *   belongs to that doc's project, e.g. tests of the quick-start app), `commonjs` (compiled
 *   as a CommonJS file, `.cts`, as in a NestJS 11 app).
 * - `// ...` elides code; it is a comment, so the rest must still compile.
 */
export interface Snippet {
  /** Repository-relative path of the Markdown file. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string (`ts`, `sh`, ...). */
  lang: string;
  /** The block's text, indentation of a nested fence removed. */
  code: string;
  /** The path comment on the block's first line, if any. */
  path?: string;
  skip?: string;
  project?: string;
  commonjs: boolean;
  /** TypeScript the directive puts before the block (its own lines). */
  prelude: string;
}

export const TS_LANGS = new Set(['ts', 'typescript']);
const PATH_COMMENT = /^\/\/ ((?:[\w.-]+\/)*[\w.-]+\.(?:ts|mts|cts))$/;
const FLAGS = /^<!--\s*snippet:\s*(.*)$/;

/** The fenced code blocks of one Markdown file. */
export function snippetsOf(root: string, doc: string): Snippet[] {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence!) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    const directive = directiveBefore(lines, i, `${doc}:${i + 1}`);
    const first = body.find((l) => l.trim() !== '') ?? '';
    out.push({
      doc,
      line: i + 1,
      lang: lang!.toLowerCase(),
      code: body.join('\n'),
      path: PATH_COMMENT.exec(first.trim())?.[1],
      commonjs: false,
      prelude: '',
      ...directive,
    });
    i = j;
  }
  return out;
}

/** The `<!-- snippet: ... -->` comment ending on the last non-blank line before the fence. */
function directiveBefore(lines: string[], fenceIndex: number, where: string): Partial<Snippet> {
  let end = fenceIndex - 1;
  while (end >= 0 && lines[end]!.trim() === '') end--;
  if (end < 0 || !lines[end]!.trim().endsWith('-->')) return {};
  let start = end;
  while (start >= 0 && !lines[start]!.includes('<!--')) start--;
  if (start < 0) return {};
  const text = lines.slice(start, end + 1).map((l) => l.trim());
  const flags = FLAGS.exec(text[0]!);
  if (!flags) return {};
  text[text.length - 1] = text[text.length - 1]!.replace(/-->$/, '');
  const first = flags[1]!.replace(/-->$/, '').trim();
  const result: Partial<Snippet> = { prelude: text.slice(1).join('\n').trim() };
  const skip = /(?:^|\s)skip=(.*)$/.exec(first);
  if (skip) {
    if (skip[1]!.trim().length < 10) throw new Error(`${where}: a skipped snippet must say why (skip=<reason>)`);
    result.skip = skip[1]!.trim();
  }
  for (const word of (skip ? first.slice(0, skip.index) : first).split(/\s+/).filter(Boolean)) {
    if (word === 'commonjs') result.commonjs = true;
    else if (word.startsWith('project=')) result.project = word.slice('project='.length);
    else throw new Error(`${where}: unknown snippet flag "${word}" (known: skip=<why>, project=<doc.md>, commonjs)`);
  }
  return result;
}

/** README.md, docs/**\/*.md and packages/*\/README.md, repository-relative, sorted. */
export function userDocs(root: string): string[] {
  const docs = ['README.md'];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) docs.push(p);
    }
  };
  walk('docs');
  for (const pkg of readdirSync(join(root, 'packages'))) {
    try {
      readFileSync(join(root, 'packages', pkg, 'README.md'));
      docs.push(`packages/${pkg}/README.md`);
    } catch {
      /* no README */
    }
  }
  return docs.sort();
}

/** Where a snippet's doc project lives in the temp tree: `docs/quick-start.md` -> `docs__quick-start`. */
export function projectDir(doc: string): string {
  return doc.replace(/\.md$/, '').replace(/\//g, '__');
}

/** The project a snippet belongs to (its `project=` doc, resolved next to its own doc). */
export function projectOf(s: Snippet): string {
  if (!s.project) return projectDir(s.doc);
  const here = dirname(s.doc);
  return projectDir(here === '.' ? s.project : `${here}/${s.project}`);
}

/** One written file: where it is, and how its lines map back to the Markdown. */
export interface WrittenSnippet {
  snippet: Snippet;
  /** Path relative to the temp root. */
  file: string;
  /** Lines of prelude before the block's first line. */
  preludeLines: number;
}

/** Writes each snippet as a module file under `dir`; returns the files (throws on a path used twice). */
export function writeSnippets(dir: string, snippets: Snippet[]): WrittenSnippet[] {
  const written: WrittenSnippet[] = [];
  const taken = new Map<string, Snippet>();
  for (const s of snippets) {
    let file = join(projectOf(s), s.path ?? `snippets/L${s.line}.ts`);
    if (s.commonjs) file = file.replace(/\.ts$/, '.cts');
    const other = taken.get(file);
    if (other) throw new Error(`${s.doc}:${s.line} and ${other.doc}:${other.line} both write ${file}`);
    taken.set(file, s);
    const prelude = s.prelude ? `${s.prelude}\n` : '';
    // `export {}` keeps every file a module, so top-level names never clash between snippets.
    const text = `${prelude}${s.code}\nexport {};\n`;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
    written.push({ snippet: s, file, preludeLines: prelude ? prelude.split('\n').length - 1 : 0 });
  }
  return written;
}

/** The compiler options of the snippet project: the repository's (tsconfig.base.json), strict. */
export function snippetCompilerOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['es2023'],
    strict: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    esModuleInterop: true,
    forceConsistentCasingInFileNames: true,
    types: ['node'],
    ...extra,
  };
}

export interface Diagnostic {
  /** `docs/quick-start.md:93:5` (the Markdown line), or the temp file for errors outside any snippet. */
  where: string;
  message: string;
}

/**
 * Runs `tsc -p <dir>` (one run over every file) and maps each error back to the Markdown line
 * it comes from. An error in a prelude is reported at the block's fence, marked `(prelude)`.
 */
export function compileSnippets(root: string, dir: string, written: WrittenSnippet[], tscArgs: string[] = ['--noEmit']): { diagnostics: Diagnostic[]; output: string; status: number | null } {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false', ...tscArgs], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const byFile = new Map(written.map((w) => [w.file.split(sep).join('/'), w]));
  const diagnostics: Diagnostic[] = [];
  for (const raw of output.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(raw.trim());
    if (!m) {
      if (/error TS/.test(raw)) diagnostics.push({ where: '(tsc)', message: raw.trim() });
      continue;
    }
    const file = relative(dir, join(dir, m[1]!)).split(sep).join('/');
    const w = byFile.get(file);
    const line = Number(m[2]);
    if (!w) {
      diagnostics.push({ where: file, message: m[4]! });
      continue;
    }
    const inBlock = line - w.preludeLines;
    diagnostics.push(
      inBlock >= 1
        ? { where: `${w.snippet.doc}:${w.snippet.line + inBlock}:${m[3]}`, message: m[4]! }
        : { where: `${w.snippet.doc}:${w.snippet.line} (prelude line ${line})`, message: m[4]! },
    );
  }
  return { diagnostics, output, status: r.status };
}

/** A fresh temp tree inside the repository (so `node_modules` resolves to the workspace's). */
export function snippetTree(root: string, name: string): string {
  const dir = join(root, 'packages', 'nest', 'dist', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Lines of a shell block joined where they end in `\`, comments and blank lines dropped. */
export function shellCommands(code: string): Array<{ command: string; comment: string[] }> {
  const out: Array<{ command: string; comment: string[] }> = [];
  let pending = '';
  for (const line of code.split('\n')) {
    const t = line.trim();
    if (t.startsWith('#')) {
      out[out.length - 1]?.comment.push(t.replace(/^#\s?/, ''));
      continue;
    }
    if (t === '') continue;
    pending += pending ? ` ${t}` : t;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    out.push({ command: pending, comment: [] });
    pending = '';
  }
  return out;
}
