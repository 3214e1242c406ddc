import ts from '../typescript.cjs';
import { resolve } from 'node:path';
import { AUDIT_RULES } from '../rules/rules.js';
import { AnalysisContext, type Rooms, type SharedState, type SourceFinding } from './engine/analysis-context.js';
import { Constants } from './engine/constants.js';
import { Literals } from './engine/literals.js';
import { SessionMiddleware } from './engine/session-middleware.js';
import { Sinks } from './engine/sinks.js';
import { Symbols } from './engine/symbols.js';
import { TokenSources, type App } from './engine/token-sources.js';
import { moduleImports } from './engine/module-imports.js';
import { createAuditProgram, type SourceInput } from './program.js';
import { mergeSessionKind, packageDependencies, packageDirOf, sessionKindFromPackageJson, sessionKindOfModules, type SessionKind } from './session-kind.js';

export type { SourceFinding } from './engine/analysis-context.js';

/** Options of the static analysis. */
export interface AnalyzeOptions {
  /**
   * Where session data lives. `auto` (default) decides it per app (the files under one package.json): the imports of its files and,
   * failing that, at the nearest package.json.
   */
  session?: 'auto' | 'client' | 'server';
  /** Base directory for relative paths in findings. Default: the working directory. */
  cwd?: string;
  /** Load files that analysed files import, from disk, to follow option objects across files. Default true. */
  followImports?: boolean;
  /** Called after each file is analysed. */
  onFileAnalysed?: (done: number, total: number) => void;
}

/**
 * Runs every static rule over a set of files (one TypeScript program, so values are followed
 * across the files' imports) and returns the findings, sorted by file and position.
 *
 * @example
 * const findings = analyzeSources([{ path: 'src/main.ts', text }]);
 */
export function analyzeSources(files: readonly SourceInput[], options: AnalyzeOptions = {}): SourceFinding[] {
  const program = createAuditProgram(files, options.followImports ?? true);
  const checker = program.getTypeChecker();
  const roots = files.map((f) => program.getSourceFile(resolve(f.path))).filter((sf): sf is ts.SourceFile => sf !== undefined);
  // one app per package.json folder: its session kind and the libraries it uses are its own
  const groups = new Map<string, ts.SourceFile[]>();
  for (const sf of roots) {
    const key = packageDirOf(sf.fileName) ?? '';
    const list = groups.get(key);
    if (list) list.push(sf);
    else groups.set(key, [sf]);
  }
  const appOf = new Map<ts.SourceFile, { app: App; kind: SessionKind }>();
  const imports = new Map(roots.map((sf) => [sf, moduleImports(sf)] as const));
  const modules = new Map(roots.map((sf) => [sf, imports.get(sf)!.modules] as const));
  for (const [dir, files] of groups) {
    const imported = files.flatMap((sf) => modules.get(sf) ?? []);
    const app: App = { dir: dir || undefined, modules: new Set([...imported, ...(dir ? packageDependencies(dir) : [])]) };
    const kind = sessionKindOf(files, imported, options.session);
    for (const sf of files) appOf.set(sf, { app, kind });
  }
  const shared: SharedState = { roots: new Set(roots), reported: new Set(), out: [], cwd: options.cwd ?? process.cwd() };
  const symbols = new Symbols(checker, shared.roots, program.getSourceFiles(), imports);
  const constants = new Constants(symbols);
  const rooms: Rooms = {
    symbols,
    constants,
    literals: new Literals(symbols),
    sinks: new Sinks(symbols, constants),
    sessions: new SessionMiddleware(symbols, constants),
    sources: new TokenSources(symbols, constants, roots, modules),
  };
  roots.forEach((sf, i) => {
    const { app, kind } = appOf.get(sf)!;
    const ctx = new AnalysisContext(sf, rooms, kind, shared, app);
    const visit = (node: ts.Node): void => {
      ctx.anchor = node;
      for (const rule of AUDIT_RULES) {
        try {
          rule.visit!(node, ctx);
        } catch {
          // a checker failure on one odd node must not stop the file or the other rules
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    options.onFileAnalysed?.(i + 1, roots.length);
  });
  return shared.out.sort((a, b) => (a.file === b.file ? a.start - b.start || a.ruleId.localeCompare(b.ruleId) : a.file < b.file ? -1 : 1));
}

/** Where one app keeps session data: forced by the option, else from its files' imports, else from its package.json. */
function sessionKindOf(files: readonly ts.SourceFile[], imported: readonly string[], forced: AnalyzeOptions['session']): SessionKind {
  if (forced === 'client') return { client: true, server: false };
  if (forced === 'server') return { client: false, server: true };
  let kind = sessionKindOfModules(imported);
  if (!kind.client && !kind.server) {
    for (const sf of files) {
      const fromPkg = sessionKindFromPackageJson(sf.fileName);
      if (fromPkg) kind = mergeSessionKind(kind, fromPkg);
    }
  }
  return kind;
}
