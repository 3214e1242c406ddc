import ts from '../../typescript.cjs';
import { relative } from 'node:path';
import type { Finding, RuleId, Severity } from '../../finding.js';
import type { SessionKind } from '../session-kind.js';
import type { SessionLib } from './ast.js';
import type { Alternative, ConstValue, Constants } from './constants.js';
import type { LiteralCandidate, Literals } from './literals.js';
import { Provenance } from './provenance.js';
import type { SessionMiddleware } from './session-middleware.js';
import type { CookieWrite, Sinks } from './sinks.js';
import type { Symbols } from './symbols.js';
import type { Taint, TaintMode } from './taint.js';
import type { App, TokenSources } from './token-sources.js';

export type { Alternative } from './constants.js';
export type { LiteralCandidate } from './literals.js';
export type { CookieWrite } from './sinks.js';
export type { App } from './token-sources.js';
export { isOwnOrNamedToken, tokenNameKind, type Taint, type TaintKind, type TaintMode } from './taint.js';

/** A finding from source code, with the character range it covers (used for code frames and masking). */
export interface SourceFinding extends Finding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Offsets into the file text: the reported node. */
  start: number;
  end: number;
  /** Offsets of string literals whose text must be masked when the code is shown. */
  maskRanges: [number, number][];
}

/** Test files: `*.spec.ts`, `*.test.js`, `test/`, `__tests__/`. */
const TEST_FILE = /(?:\.(?:spec|test)\.[cm]?[jt]sx?$|(?:^|[\\/])(?:test|tests|__tests__)[\\/])/;

/** State shared by the analyses of one run. */
export interface SharedState {
  roots: Set<ts.SourceFile>;
  reported: Set<string>;
  out: SourceFinding[];
  cwd: string;
}

/** The rooms of one program, shared by the contexts of its files. */
export interface Rooms {
  symbols: Symbols;
  constants: Constants;
  literals: Literals;
  sinks: Sinks;
  sessions: SessionMiddleware;
  sources: TokenSources;
}

/**
 * What a rule sees of the engine, for one file: the rooms (symbols, constants, literals, value
 * following, sinks, session middleware) behind one object, and `report`. Rules ask it questions
 * and report through it; it knows no rule.
 */
export class AnalysisContext {
  /** The node being visited in this file: where findings in non-analysed files are reported. */
  anchor: ts.Node | undefined;
  readonly checker: ts.TypeChecker;
  private readonly provenance: Provenance;

  constructor(
    readonly sf: ts.SourceFile,
    private readonly rooms: Rooms,
    /** Where session data lives in this file's app (decided per app: its package.json folder). */
    readonly sessionKind: SessionKind,
    private readonly shared: SharedState,
    /** The app this file belongs to. */
    readonly app?: App,
  ) {
    this.checker = rooms.symbols.checker;
    this.provenance = new Provenance(sf, rooms, app, (f) => this.displayPath(f));
  }

  report(ruleId: RuleId, severity: Severity, node: ts.Node, message: string, evidence?: string, maskNodes: readonly ts.Node[] = []): void {
    // a node in a file that is not analysed itself (an imported options file): report at the use
    let at = node;
    let sf = node.getSourceFile();
    if (sf !== this.sf && !this.shared.roots.has(sf)) {
      at = this.anchor ?? node;
      sf = this.sf;
    }
    const start = at.getStart(sf);
    const end = at.getEnd();
    const file = this.displayPath(sf);
    // one KW003 per literal, whatever the path (and, for a literal in a file not analysed itself, the use) that reached it
    const key = ruleId === 'KW003' ? `${ruleId}:${node.getSourceFile().fileName}:${node.getStart()}` : `${ruleId}:${file}:${start}:${message}`;
    if (this.shared.reported.has(key)) return;
    // test code is not shipped: its findings are worth a look, not a failed build
    if (TEST_FILE.test(file) && severity !== 'info') {
      severity = 'low';
      message = `${message} (in test code)`;
    }
    this.shared.reported.add(key);
    const s = sf.getLineAndCharacterOfPosition(start);
    const e = sf.getLineAndCharacterOfPosition(end);
    this.shared.out.push({
      ruleId,
      severity,
      message,
      file,
      line: s.line + 1,
      column: s.character + 1,
      endLine: e.line + 1,
      endColumn: e.character + 1,
      start,
      end,
      maskRanges: maskNodes.filter((n) => n.getSourceFile() === sf).map((n) => [n.getStart(sf), n.getEnd()] as [number, number]),
      ...(evidence !== undefined ? { evidence } : {}),
    });
  }

  displayPath(sf: ts.SourceFile): string {
    const rel = relative(this.shared.cwd, sf.fileName);
    return rel.startsWith('..') ? sf.fileName : rel;
  }

  // symbols
  declarationOf(node: ts.Node): ts.Declaration | undefined {
    return this.rooms.symbols.declarationOf(node);
  }
  /** The module `node` was imported from; with `wanted`, only a module it accepts (else undefined, and faster). */
  importSource(node: ts.Expression, wanted?: (mod: string) => boolean): string | undefined {
    return this.rooms.symbols.importSource(node, wanted);
  }
  functionOf(callee: ts.Expression): ts.SignatureDeclaration | undefined {
    return this.rooms.symbols.functionOf(callee);
  }
  classOf(node: ts.Expression | undefined): ts.ClassLikeDeclaration | undefined {
    return this.rooms.symbols.classOf(node);
  }

  // constants
  objectLiteralOf(node: ts.Expression | undefined): ts.ObjectLiteralExpression | undefined {
    return this.rooms.constants.objectLiteralOf(node);
  }
  property(obj: ts.ObjectLiteralExpression | undefined, name: string): ts.Expression | ts.ShorthandPropertyAssignment | undefined {
    return this.rooms.constants.property(obj, name);
  }
  propertyAlternatives(obj: ts.ObjectLiteralExpression | undefined, name: string): Alternative<ts.Expression | ts.ShorthandPropertyAssignment>[] {
    return this.rooms.constants.propertyAlternatives(obj, name);
  }
  valueAlternatives(node: ts.Expression | undefined): Alternative[] {
    return this.rooms.constants.valueAlternatives(node);
  }
  propertyValue(obj: ts.ObjectLiteralExpression | undefined, name: string): ts.Expression | undefined {
    return this.rooms.constants.propertyValue(obj, name);
  }
  constValue(node: ts.Expression | undefined): ConstValue {
    return this.rooms.constants.constValue(node);
  }
  assignedOption(obj: ts.ObjectLiteralExpression, path: readonly string[]): ts.Expression | undefined {
    return this.rooms.constants.assignedOption(obj, path);
  }

  // literals
  literalCandidates(node: ts.Expression | undefined, depth = 0, fallbackFor?: string): LiteralCandidate[] {
    return this.rooms.literals.literalCandidates(node, depth, fallbackFor);
  }
  configReadName(node: ts.Expression): string | undefined {
    return this.rooms.literals.configReadName(node);
  }
  isRejectedAtRuntime(c: LiteralCandidate): boolean {
    return this.rooms.literals.isRejectedAtRuntime(c, this.sf);
  }

  // value following
  /** Where a value written to a sink comes from, when that is a secret for this kind of sink. */
  sinkTaint(node: ts.Node | undefined, mode: TaintMode): Taint | undefined {
    return this.provenance.sinkTaint(node, mode);
  }
  isJwtValue(node: ts.Expression): boolean {
    return this.provenance.isJwtValue(node);
  }
  isSanitized(node: ts.Expression): boolean {
    return this.provenance.isSanitized(node);
  }

  // sinks and sessions
  cookieWriteOf(call: ts.CallExpression): CookieWrite | undefined {
    return this.rooms.sinks.cookieWriteOf(call);
  }
  /** True when page scripts can read the cookie (no HttpOnly on a branch that is not development-only). */
  cookieReadableByScripts(w: CookieWrite): boolean {
    return this.rooms.sinks.readableByScripts(w);
  }
  sessionLibOf(call: ts.CallExpression): SessionLib | undefined {
    return this.rooms.sessions.sessionLibOf(call);
  }
  sessionMiddlewareOf(call: ts.CallExpression): { lib: SessionLib; opts: ts.ObjectLiteralExpression } | undefined {
    return this.rooms.sessions.sessionMiddlewareOf(call);
  }
  isSessionExpression(node: ts.Expression): boolean {
    return this.rooms.sessions.isSessionExpression(node);
  }
}
