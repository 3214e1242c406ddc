import ts from 'typescript5';
import { resolve } from 'node:path';
import { AUDIT_RULES } from '../rules/rules.js';
import { AnalysisContext, type Rooms, type SharedState, type SourceFinding } from './engine/analysis-context.js';
import { Constants } from './engine/constants.js';
import { Literals } from './engine/literals.js';
import { SessionMiddleware } from './engine/session-middleware.js';
import { Sinks } from './engine/sinks.js';
import { Symbols } from './engine/symbols.js';
import { importedModules } from './engine/ast.js';
import { createAuditProgram, type SourceInput } from './program.js';
import { mergeSessionKind, sessionKindFromPackageJson, sessionKindOfModules, type SessionKind } from './session-kind.js';

export type { SourceFinding } from './engine/analysis-context.js';

/** Options of the static analysis. */
export interface AnalyzeOptions {
  /**
   * Where session data lives. `auto` (default) looks at the imports of the analysed files and,
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
  let kind: SessionKind;
  if (options.session === 'client') kind = { client: true, server: false };
  else if (options.session === 'server') kind = { client: false, server: true };
  else {
    kind = sessionKindOfModules(roots.flatMap((sf) => importedModules(sf)));
    if (!kind.client && !kind.server) {
      for (const sf of roots) {
        const fromPkg = sessionKindFromPackageJson(sf.fileName);
        if (fromPkg) kind = mergeSessionKind(kind, fromPkg);
      }
    }
  }
  const shared: SharedState = { roots: new Set(roots), reported: new Set(), out: [], cwd: options.cwd ?? process.cwd() };
  const symbols = new Symbols(checker, shared.roots);
  const constants = new Constants(symbols);
  const rooms: Rooms = { symbols, constants, literals: new Literals(symbols), sinks: new Sinks(symbols, constants), sessions: new SessionMiddleware(symbols, constants) };
  roots.forEach((sf, i) => {
    const ctx = new AnalysisContext(sf, rooms, kind, shared);
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
