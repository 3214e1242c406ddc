/**
 * Issue 22, point 3: `keyward audit` remedies named a vault API that does not exist
 * (`this.vault.put(s.id, key)`) and never pointed to `@keyward/nest` or the migration guide. This
 * test keeps every remedy true: each `@keyward/nest` name a rule's fix or example mentions is
 * exported by the library's entry point (packages/nest/src/index.ts, read with the TypeScript
 * checker), each member it calls exists on that class, each option it writes in
 * `KeywardModule.forRoot(...)` exists in `KeywardModuleOptions`; each guide link names a page and a
 * heading of this repository; docs/cli.md shows each rule's fix and example as the CLI prints them.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { DOCS_BASE } from '../src/rules/guides.js';
import { RULE_LIST, type RuleMeta } from '../src/rules/rules.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const NEST_INDEX = `${REPO}packages/nest/src/index.ts`;

/** The library's public API as the type checker sees it. */
class NestApi {
  readonly checker: ts.TypeChecker;
  readonly exports = new Map<string, ts.Symbol>();

  constructor() {
    const program = ts.createProgram([NEST_INDEX], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    });
    this.checker = program.getTypeChecker();
    const module = this.checker.getSymbolAtLocation(program.getSourceFile(NEST_INDEX)!)!;
    for (const s of this.checker.getExportsOfModule(module)) this.exports.set(s.getName(), s.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(s) : s);
    assert.ok(this.exports.has('KeywardModule') && this.exports.size > 50, 'the entry point was read');
  }

  /** Does `name.member` exist, as an instance or a static member (inherited ones included)? */
  hasMember(name: string, member: string): boolean {
    const s = this.exports.get(name);
    if (!s) return false;
    const types = [this.checker.getDeclaredTypeOfSymbol(s), this.checker.getTypeOfSymbol(s)];
    return types.some((t) => this.checker.getPropertyOfType(t, member) !== undefined);
  }

  optionsType(): ts.Type {
    return this.checker.getDeclaredTypeOfSymbol(this.exports.get('KeywardModuleOptions')!);
  }

  /** The type of `key` on `type` (a union's object members tried in turn; a Record's index type). */
  property(type: ts.Type, key: string): ts.Type | undefined {
    const parts = type.isUnion() ? type.types : [type];
    for (const t of parts) {
      const p = this.checker.getPropertyOfType(t, key);
      if (p) return this.checker.getNonNullableType(this.checker.getTypeOfSymbol(p));
      const index = this.checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & ts.TypeFlags.String);
      if (index) return this.checker.getNonNullableType(index.type);
    }
    return undefined;
  }
}

/** Conventional receivers in the examples: `this.vault.putSession(...)`. */
const RECEIVERS: Record<string, string> = { vault: 'Vault', credentials: 'CredentialService', sessions: 'SessionService' };

function parse(code: string): ts.SourceFile {
  return ts.createSourceFile('remedy.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

/** Every problem with the `@keyward/nest` names a piece of code mentions. */
function checkCode(api: NestApi, code: string, where: string): string[] {
  const problems: string[] = [];
  const sf = parse(code);
  const imported = new Set<string>();
  const receivers = new Map(Object.entries(RECEIVERS));
  const visitImports = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text === '@keyward/nest') {
      const named = n.importClause?.namedBindings;
      if (named && ts.isNamedImports(named)) for (const el of named.elements) imported.add(el.name.text);
    }
    // `session: RequestSession` makes `session.x` a RequestSession member
    if (ts.isParameter(n) && ts.isIdentifier(n.name) && n.type && ts.isTypeReferenceNode(n.type) && ts.isIdentifier(n.type.typeName)) receivers.set(n.name.text, n.type.typeName.text);
    ts.forEachChild(n, visitImports);
  };
  visitImports(sf);
  for (const name of imported) if (!api.exports.has(name)) problems.push(`${where}: imports \`${name}\`, which @keyward/nest does not export`);
  const checkOptions = (obj: ts.ObjectLiteralExpression, type: ts.Type, path: string): void => {
    for (const p of obj.properties) {
      if (!(ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) continue;
      const key = p.name.text;
      const t = api.property(type, key);
      if (!t) {
        problems.push(`${where}: option \`${path}${key}\` does not exist in KeywardModuleOptions`);
        continue;
      }
      if (ts.isPropertyAssignment(p) && ts.isObjectLiteralExpression(p.initializer)) checkOptions(p.initializer, t, `${path}${key}.`);
    }
  };
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n)) {
      const recv = ts.isIdentifier(n.expression) ? n.expression.text : ts.isPropertyAccessExpression(n.expression) && n.expression.expression.kind === ts.SyntaxKind.ThisKeyword ? n.expression.name.text : undefined;
      const cls = recv === undefined ? undefined : imported.has(recv) ? recv : receivers.get(recv);
      if (cls && api.exports.has(cls) && !api.hasMember(cls, n.name.text)) problems.push(`${where}: \`${cls}.${n.name.text}\` does not exist`);
      if (cls && !api.exports.has(cls) && (imported.has(cls) || Object.values(RECEIVERS).includes(cls))) problems.push(`${where}: \`${cls}\` is not exported by @keyward/nest`);
    }
    if (ts.isIdentifier(n) && /^Keyward/.test(n.text) && !imported.has(n.text) && !ts.isImportSpecifier(n.parent)) problems.push(`${where}: uses \`${n.text}\` without importing it from @keyward/nest`);
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && ts.isIdentifier(n.expression.expression) && n.expression.expression.text === 'KeywardModule') {
      const arg = n.arguments[0];
      if (n.expression.name.text === 'forRoot' && arg && ts.isObjectLiteralExpression(arg)) checkOptions(arg, api.optionsType(), '');
      if (n.expression.name.text === 'forRootAsync' && arg && ts.isObjectLiteralExpression(arg)) {
        const factory = arg.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === 'useFactory');
        let body: ts.Node | undefined = factory && ts.isArrowFunction(factory.initializer) ? factory.initializer.body : undefined;
        while (body && ts.isParenthesizedExpression(body)) body = body.expression;
        if (body && ts.isObjectLiteralExpression(body)) checkOptions(body, api.optionsType(), '');
        else problems.push(`${where}: forRootAsync's useFactory should return an object literal the test can check`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return problems;
}

/** The API names in a fix text: backticked `Name`, `@Name()`, `Name.member`, option paths `proxy.services`, `KeywardModule.forRoot({...})`. */
function checkFix(api: NestApi, rule: RuleMeta): string[] {
  const problems: string[] = [];
  const where = `${rule.id} fix`;
  const optionKeys = new Set(api.checker.getPropertiesOfType(api.optionsType()).map((p) => p.getName()));
  for (const [, span] of rule.fix.matchAll(/`([^`]+)`/g)) {
    const s = span!;
    if (s.startsWith('KeywardModule.')) {
      const imports = "import { KeywardModule } from '@keyward/nest';\n";
      problems.push(...checkCode(api, imports + s, where));
      continue;
    }
    const ref = /^@?([A-Z][A-Za-z0-9]*)(?:\.([A-Za-z]\w*))?(?:\(\))?$/.exec(s);
    if (ref) {
      const [, name, member] = ref;
      if (!api.exports.has(name!)) problems.push(`${where}: \`${name}\` is not exported by @keyward/nest`);
      else if (member && !api.hasMember(name!, member)) problems.push(`${where}: \`${name}.${member}\` does not exist`);
      continue;
    }
    const path = /^([a-z]\w*)\.([a-z]\w*)$/.exec(s);
    if (path && optionKeys.has(path[1]!) && !api.property(api.property(api.optionsType(), path[1]!)!, path[2]!)) problems.push(`${where}: option \`${s}\` does not exist`);
  }
  return problems;
}

function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s+/g, '-');
}

describe('the remedies name what @keyward/nest really exports', () => {
  const api = new NestApi();

  test('every rule names @keyward/nest in its fix and its example imports from it (the CLI-only KW008 excepted in the example)', () => {
    for (const r of RULE_LIST) {
      assert.match(r.fix, /@keyward\/nest/, `${r.id} fix`);
      if (r.id !== 'KW008') assert.match(r.example, /from '@keyward\/nest'/, `${r.id} example`);
    }
  });

  test('every API name, member and option a fix or an example mentions exists', () => {
    const problems = RULE_LIST.flatMap((r) => [...checkFix(api, r), ...checkCode(api, r.example, `${r.id} example`)]);
    assert.deepEqual(problems, []);
  });

  test('the check catches the old remedy and wrong names', () => {
    const old = "import { Vault } from '@keyward/nest';\nasync function save(vault: Vault, s: { id: string }, key: string) { await vault.put(s.id, key); }";
    assert.deepEqual(checkCode(api, old, 'old'), ['old: `Vault.put` does not exist']);
    assert.deepEqual(checkCode(api, "import { KeyVault } from '@keyward/nest';", 'x'), ['x: imports `KeyVault`, which @keyward/nest does not export']);
    assert.deepEqual(checkCode(api, "import { KeywardModule } from '@keyward/nest';\nKeywardModule.forRoot({ session: { secrets: [], store, cookies: {} }, proxy: { services: { a: { baseURL: '' } } } });", 'y'), [
      'y: option `session.cookies` does not exist in KeywardModuleOptions',
      'y: option `proxy.services.a.baseURL` does not exist in KeywardModuleOptions',
    ]);
    const fake: RuleMeta = { ...RULE_LIST[0]!, fix: 'Use `SessionVault`, `Vault.putKey`, `proxy.upstreams` and `@CurrentAccount()`.' };
    assert.equal(checkFix(api, fake).length, 4);
  });

  test('every guide is a page (and heading) of this repository, and the session rules link the migration guide', () => {
    for (const r of RULE_LIST) {
      if (!r.guide) continue;
      assert.ok(r.guide.startsWith(DOCS_BASE), r.guide);
      const [file, anchor] = r.guide.slice(DOCS_BASE.length).split('#');
      assert.ok(existsSync(`${REPO}${file}`), `${r.id}: ${file} exists`);
      if (anchor) {
        const headings = readFileSync(`${REPO}${file}`, 'utf8').split('\n').filter((l) => /^#+ /.test(l)).map((l) => slug(l.replace(/^#+ /, '')));
        assert.ok(headings.includes(anchor), `${r.id}: ${file} has a heading #${anchor}`);
      }
    }
    for (const id of ['KW001', 'KW002', 'KW007', 'KW008']) assert.match(RULE_LIST.find((r) => r.id === id)!.guide ?? '', /migrating-from-express-session\.md/, id);
  });

  test("docs/cli.md shows each rule's fix and example as the CLI prints them", () => {
    const doc = readFileSync(`${REPO}docs/cli.md`, 'utf8');
    for (const r of RULE_LIST) {
      const start = doc.indexOf(`### ${r.id} ${r.name}`);
      assert.ok(start >= 0, `${r.id} has a section`);
      const next = doc.indexOf('\n### ', start + 1);
      const section = doc.slice(start, next === -1 ? undefined : next);
      assert.ok(section.includes(`*Fix.* ${r.fix}`), `${r.id}: the fix`);
      assert.ok(section.includes(r.example), `${r.id}: the example`);
      if (r.guide) assert.ok(section.includes(r.guide), `${r.id}: the guide`);
    }
  });
});
