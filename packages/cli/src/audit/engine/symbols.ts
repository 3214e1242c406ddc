import ts from '../../typescript.cjs';
import { calleeName, isRequireCall, unwrap } from './ast.js';
import { moduleImports, type ModuleImports } from './module-imports.js';

/*
 * The symbol room: what a name refers to, across files, with the type checker of the one program
 * the audit builds (declarations, imports, the function a callee is, the class a name is, every
 * call of a function in the analysed files).
 */

/** Resolves names to declarations across the files of one program. */
export class Symbols {
  /** Calls and member assignments per analysed file, built on first use. */
  private readonly files = new Map<ts.SourceFile, FileIndex>();
  /** Lookups by name. */
  private readonly byName = new Map<string, { calls: ts.CallExpression[]; assignments: ts.BinaryExpression[] }>();
  /**
   * Answers per node, `null` for none: the rules and the value-following ask about the same names
   * many times (a callee once per rule), and each question is a checker call.
   */
  private readonly declarations = new Map<ts.Node, ts.Declaration | null>();
  private readonly symbols = new Map<ts.Node, ts.Symbol | null>();
  private readonly modules = new Map<ts.Node, string | null>();
  private readonly functions = new Map<ts.Node, ts.SignatureDeclaration | null>();

  /** Imports per file (see `mayImport`), and the names bound by imports in files whose names are global. */
  private readonly imports = new Map<ts.SourceFile, ModuleImports>();
  private globalBindings: Map<string, string[]> | undefined;

  constructor(
    readonly checker: ts.TypeChecker,
    /** The files being audited (their calls are indexed for following a parameter to its callers). */
    private readonly roots: ReadonlySet<ts.SourceFile>,
    /** Every file of the program, for `importSource(node, wanted)`; without them every question goes to the checker. */
    private readonly programFiles?: readonly ts.SourceFile[],
    /** The imports of files already walked (the analyzer walks the audited ones). */
    known: ReadonlyMap<ts.SourceFile, ModuleImports> = new Map(),
  ) {
    for (const [sf, imports] of known) this.imports.set(sf, imports);
  }

  /** The declaration a name refers to, through aliases (imports) and shorthand properties. */
  declarationOf(node: ts.Node): ts.Declaration | undefined {
    const known = this.declarations.get(node);
    if (known !== undefined) return known ?? undefined;
    const decl = this.resolveDeclaration(node);
    this.declarations.set(node, decl ?? null);
    return decl;
  }

  private resolveDeclaration(node: ts.Node): ts.Declaration | undefined {
    let sym: ts.Symbol | undefined;
    // `{ origin }`: the variable, not the property it creates
    if (ts.isShorthandPropertyAssignment(node)) sym = this.checker.getShorthandAssignmentValueSymbol(node);
    else if (ts.isIdentifier(node) && node.parent && ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node) sym = this.checker.getShorthandAssignmentValueSymbol(node.parent);
    else sym = this.symbolAt(node);
    if (!sym) return undefined;
    if (sym.flags & ts.SymbolFlags.Alias) {
      try {
        const target = this.checker.getAliasedSymbol(sym);
        if (target && target.declarations && target.declarations.length > 0) sym = target;
      } catch {
        return sym.declarations?.[0];
      }
    }
    return sym.valueDeclaration ?? sym.declarations?.[0];
  }

  /** The symbol of a name (no alias resolution): for comparing two uses of one variable. */
  symbolAt(node: ts.Node): ts.Symbol | undefined {
    const known = this.symbols.get(node);
    if (known !== undefined) return known ?? undefined;
    const sym = this.checker.getSymbolAtLocation(node);
    this.symbols.set(node, sym ?? null);
    return sym;
  }

  /**
   * Module an identifier was imported from (a default, named or namespace import, or a CommonJS
   * require call). With `wanted`, a caller that only cares about some modules gets `undefined`
   * without asking the checker when no import of its file (or of a file whose names are global)
   * binds that name to a module it wants.
   */
  importSource(node: ts.Expression, wanted?: (mod: string) => boolean): string | undefined {
    const known = this.modules.get(node);
    if (known !== undefined) return known ?? undefined;
    if (wanted && !this.mayImport(node, wanted)) return undefined;
    const mod = this.resolveImportSource(node);
    this.modules.set(node, mod ?? null);
    return mod;
  }

  private resolveImportSource(node: ts.Expression): string | undefined {
    const e = unwrap(node);
    if (isRequireCall(e)) return (e.arguments[0] as ts.StringLiteral).text;
    let id: ts.Expression = e;
    // session.default(...) or ns.default
    if (ts.isPropertyAccessExpression(id) && id.name.text === 'default') id = id.expression;
    if (ts.isPropertyAccessExpression(id) && isRequireCall(unwrap(id.expression))) return ((unwrap(id.expression) as ts.CallExpression).arguments[0] as ts.StringLiteral | undefined)?.text;
    if (!ts.isIdentifier(id)) return undefined;
    const decl = this.symbolAt(id)?.declarations?.[0];
    return decl ? moduleOfDeclaration(decl) : undefined;
  }

  /**
   * False when the identifier `resolveImportSource` would ask the checker about cannot be bound to
   * a module `wanted` accepts. A name resolves to a declaration in its own file or, from a file
   * that is not a module (or declares globals), in the global scope; and the declarations
   * `moduleOfDeclaration` knows are imports and requires, named like the identifier.
   */
  private mayImport(node: ts.Expression, wanted: (mod: string) => boolean): boolean {
    if (!this.programFiles) return true;
    let id: ts.Expression = unwrap(node);
    if (isRequireCall(id)) return true;
    if (ts.isPropertyAccessExpression(id) && id.name.text === 'default') id = id.expression;
    if (!ts.isIdentifier(id)) return true;
    const own = this.importsOf(id.getSourceFile()).bindings.get(id.text);
    if (own?.some(wanted)) return true;
    if (!this.globalBindings) {
      this.globalBindings = new Map();
      for (const sf of this.programFiles) {
        if (ts.isExternalModule(sf) && !sf.text.includes('global')) continue;
        for (const [name, mods] of this.importsOf(sf).bindings) this.globalBindings.set(name, [...(this.globalBindings.get(name) ?? []), ...mods]);
      }
    }
    return this.globalBindings.get(id.text)?.some(wanted) ?? false;
  }

  private importsOf(sf: ts.SourceFile): ModuleImports {
    let imports = this.imports.get(sf);
    if (!imports) this.imports.set(sf, (imports = moduleImports(sf)));
    return imports;
  }

  /** The function a callee refers to, when it is declared in analysed code. */
  functionOf(callee: ts.Expression): ts.SignatureDeclaration | undefined {
    const known = this.functions.get(callee);
    if (known !== undefined) return known ?? undefined;
    const fn = this.resolveFunction(callee);
    this.functions.set(callee, fn ?? null);
    return fn;
  }

  private resolveFunction(callee: ts.Expression): ts.SignatureDeclaration | undefined {
    const e = unwrap(callee);
    if (ts.isFunctionExpression(e) || ts.isArrowFunction(e)) return e;
    const target = ts.isPropertyAccessExpression(e) ? e.name : ts.isIdentifier(e) ? e : undefined;
    if (!target) return undefined;
    const decl = this.declarationOf(target);
    if (!decl) return undefined;
    if (ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl) || ts.isGetAccessorDeclaration(decl)) return decl;
    if ((ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) {
      const init = unwrap(decl.initializer);
      if (ts.isFunctionExpression(init) || ts.isArrowFunction(init)) return init;
    }
    return undefined;
  }

  /** The class an expression names (`UserDto`), when declared in analysed code. */
  classOf(node: ts.Expression | undefined): ts.ClassLikeDeclaration | undefined {
    if (!node) return undefined;
    const e = unwrap(node);
    if (!ts.isIdentifier(e) && !ts.isPropertyAccessExpression(e)) return undefined;
    const decl = this.declarationOf(ts.isIdentifier(e) ? e : e.name);
    return decl && (ts.isClassDeclaration(decl) || ts.isClassExpression(decl)) ? decl : undefined;
  }

  /** Calls named `name` in the analysed files. */
  callsNamed(name: string): readonly ts.CallExpression[] {
    return this.lookup(name).calls;
  }

  /** Calls named `callee` in the analysed files whose text also mentions `mention` (a cookie name, a session key). */
  callsMentioning(callee: string, mention: string): ts.CallExpression[] {
    const out: ts.CallExpression[] = [];
    for (const sf of this.roots) if (sf.text.includes(mention) && sf.text.includes(callee)) out.push(...(this.fileIndex(sf).calls.get(callee) ?? []));
    return out;
  }

  /** Assignments to a member named `name` in the analysed files: `tokens.access_token = v`, `this.tokens = v`. */
  memberAssignments(name: string): readonly ts.BinaryExpression[] {
    return this.lookup(name).assignments;
  }

  /**
   * Calls and member assignments for one name, gathered from the files whose text mentions it (each
   * file is walked once, on the first name it mentions), so a lookup costs a text search, not a walk
   * of every file.
   */
  private lookup(name: string): { calls: ts.CallExpression[]; assignments: ts.BinaryExpression[] } {
    const known = this.byName.get(name);
    if (known) return known;
    const out = { calls: [] as ts.CallExpression[], assignments: [] as ts.BinaryExpression[] };
    for (const sf of this.roots) {
      if (!sf.text.includes(name)) continue;
      const index = this.fileIndex(sf);
      out.calls.push(...(index.calls.get(name) ?? []));
      out.assignments.push(...(index.assignments.get(name) ?? []));
    }
    this.byName.set(name, out);
    return out;
  }

  private fileIndex(sf: ts.SourceFile): FileIndex {
    let index = this.files.get(sf);
    if (index) return index;
    index = { calls: new Map(), assignments: new Map() };
    const { calls, assignments } = index;
    const add = <T>(map: Map<string, T[]>, key: string, v: T): void => {
      const list = map.get(key);
      if (list) list.push(v);
      else map.set(key, [v]);
    };
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const name = calleeName(n);
        if (name) add(calls, name, n);
      } else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const left = unwrap(n.left);
        const name = ts.isPropertyAccessExpression(left) ? left.name.text : ts.isElementAccessExpression(left) && ts.isStringLiteralLike(left.argumentExpression) ? left.argumentExpression.text : undefined;
        if (name) add(assignments, name, n);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    this.files.set(sf, index);
    return index;
  }
}

interface FileIndex {
  calls: Map<string, ts.CallExpression[]>;
  assignments: Map<string, ts.BinaryExpression[]>;
}

/** The module specifier a declaration was imported or required from. */
function moduleOfDeclaration(decl: ts.Declaration): string | undefined {
  let n: ts.Node = decl;
  if (ts.isImportSpecifier(n) || ts.isNamespaceImport(n) || ts.isImportClause(n)) {
    while (n && !ts.isImportDeclaration(n)) n = n.parent;
    return n && ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) ? n.moduleSpecifier.text : undefined;
  }
  if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
    return n.moduleReference.expression.text;
  }
  if (ts.isVariableDeclaration(n) && n.initializer) {
    const init = unwrap(n.initializer);
    if (isRequireCall(init)) return (init.arguments[0] as ts.StringLiteral).text;
    if (ts.isPropertyAccessExpression(init) && isRequireCall(unwrap(init.expression))) return ((unwrap(init.expression) as ts.CallExpression).arguments[0] as ts.StringLiteral).text;
  }
  if (ts.isBindingElement(n)) {
    let p: ts.Node = n;
    while (p && !ts.isVariableDeclaration(p)) p = p.parent;
    if (p && ts.isVariableDeclaration(p) && p.initializer && isRequireCall(unwrap(p.initializer))) return ((unwrap(p.initializer) as ts.CallExpression).arguments[0] as ts.StringLiteral).text;
  }
  return undefined;
}
