import ts from '../../typescript.cjs';
import { isRequireCall, unwrap } from './ast.js';

/* A file's imports: the modules it names and the local names its imports and requires bind. */

/** What a file imports (see {@link moduleImports}). */
export interface ModuleImports {
  /** The specifiers, in source order (see {@link importedModules}). */
  modules: string[];
  /**
   * Local names bound to an import or a require (a default import, `{ a as x }`, `* as x`, an
   * import-equals require, a `const` (or destructuring) initialised by a require call or a member
   * of one) and the modules each may come from.
   */
  bindings: Map<string, string[]>;
}

/** Module specifiers a file imports: ESM imports, import-equals declarations and CommonJS require calls with a string literal. */
export function importedModules(sf: ts.SourceFile): string[] {
  return moduleImports(sf).modules;
}

/**
 * The imports of a file and the names they bind. Every import starts with the word `import` and
 * every require call with `require`, so the file's text says where they are: the nodes at those
 * places are looked at, in source order, instead of every node of the file. A file whose text has
 * a unicode escape (an escaped keyword or name reads the same to the parser) or whose tree has no
 * parent pointers yet is walked whole; both ways find the same imports in the same order.
 */
export function moduleImports(sf: ts.SourceFile): ModuleImports {
  const found = new ImportCollector();
  const first = sf.statements[0];
  if (sf.text.includes('\\u') || (first !== undefined && first.parent === undefined)) {
    const visit = (node: ts.Node): void => {
      found.record(node);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  } else {
    const seen = new Set<ts.Node>();
    for (const pos of wordPositions(sf.text)) {
      const at = nodeAt(sf, pos);
      // the keyword of a declaration, the callee of a call (`require`, `import`)
      const node = ts.isImportDeclaration(at) || ts.isImportEqualsDeclaration(at) ? at : at.parent && ts.isCallExpression(at.parent) && at.parent.expression === at ? at.parent : undefined;
      if (!node || seen.has(node)) continue;
      seen.add(node);
      found.record(node);
      if (ts.isCallExpression(node) && isRequireCall(node)) {
        const decl = requireDeclaration(node);
        if (decl) found.record(decl);
      }
    }
  }
  return { modules: found.modules, bindings: found.bindings };
}

/** Where `import` and `require` occur in a text, in order. */
function wordPositions(text: string): number[] {
  const out: number[] = [];
  for (const word of ['import', 'require']) for (let i = text.indexOf(word); i !== -1; i = text.indexOf(word, i + 1)) out.push(i);
  return out.sort((a, b) => a - b);
}

/** The deepest node (of those `forEachChild` reaches) whose range, leading trivia included, holds `pos`. */
function nodeAt(sf: ts.SourceFile, pos: number): ts.Node {
  let node: ts.Node = sf;
  for (;;) {
    const child: ts.Node | undefined = ts.forEachChild(node, (c) => (c.pos <= pos && pos < c.end ? c : undefined));
    if (!child) return node;
    node = child;
  }
}

/** The variable declaration whose value is this require call (a `const` initialised by a require call, or by a member of one), as `moduleImports` sees it. */
function requireDeclaration(call: ts.CallExpression): ts.VariableDeclaration | undefined {
  const up = (n: ts.Expression): ts.Expression => {
    let e = n;
    while (e.parent && (ts.isParenthesizedExpression(e.parent) || ts.isAsExpression(e.parent) || ts.isNonNullExpression(e.parent) || ts.isTypeAssertionExpression(e.parent) || ts.isSatisfiesExpression(e.parent) || ts.isAwaitExpression(e.parent)) && e.parent.expression === e) e = e.parent;
    return e;
  };
  let e = up(call);
  if (e.parent && ts.isPropertyAccessExpression(e.parent) && e.parent.expression === e) e = up(e.parent);
  return e.parent && ts.isVariableDeclaration(e.parent) && e.parent.initializer === e ? e.parent : undefined;
}

/** The modules and bindings of the import nodes it is shown. */
class ImportCollector {
  readonly modules: string[] = [];
  readonly bindings = new Map<string, string[]>();

  record(node: ts.Node): void {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const mod = node.moduleSpecifier.text;
      this.modules.push(mod);
      const clause = node.importClause;
      this.bind(clause?.name, mod);
      const named = clause?.namedBindings;
      if (named && ts.isNamespaceImport(named)) this.bind(named.name, mod);
      else if (named) for (const el of named.elements) this.bind(el.name, mod);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      this.modules.push(node.moduleReference.expression.text);
      this.bind(node.name, node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && isRequireCall(node)) this.modules.push((node.arguments[0] as ts.StringLiteral).text);
    else if (ts.isVariableDeclaration(node) && node.initializer) {
      const init = unwrap(node.initializer);
      const call = isRequireCall(init) ? init : ts.isPropertyAccessExpression(init) && isRequireCall(unwrap(init.expression)) ? (unwrap(init.expression) as ts.CallExpression) : undefined;
      if (call) this.bind(node.name, (call.arguments[0] as ts.StringLiteral).text);
    }
  }

  private bind(name: ts.BindingName | undefined, mod: string): void {
    if (!name) return;
    if (ts.isIdentifier(name)) {
      const list = this.bindings.get(name.text);
      if (list) list.push(mod);
      else this.bindings.set(name.text, [mod]);
    } else this.bindPattern(name, mod);
  }

  /** Every binding element under a pattern, down to those of functions in its default values. */
  private bindPattern(n: ts.Node, mod: string): void {
    if (ts.isBindingElement(n) && ts.isIdentifier(n.name)) this.bind(n.name, mod);
    ts.forEachChild(n, (c) => this.bindPattern(c, mod));
  }
}
