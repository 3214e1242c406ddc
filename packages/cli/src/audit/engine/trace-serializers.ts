import ts from '../../typescript.cjs';
import { calleeName, decoratorName, decoratorsOf, propertyNameText, unwrap } from './ast.js';
import { isSecretName } from '../../secrets/secret-detector.js';
import { type Taint, tokenNameKind } from './taint.js';
import { ProgramTrace } from './trace-program.js';

/* The value-following room, serializers: which fields `pick` and class-transformer keep. */

/** Follows values through serializers that keep chosen fields. */
export abstract class SerializerTrace extends ProgramTrace {
  /**
   * Fields a serializer keeps that are secrets for this sink: `pick(user, ['id', 'accessToken'])`,
   * `_.pick(user, 'accessToken')`, class-transformer's `@Expose()` on a token field. A token field
   * picked from a stored object (a user, an account) is the provider's token, not a freshly issued
   * login token, so access, refresh and id tokens count at response sinks; the app's own issued
   * tokens (`pick(await auth.login(u), [...])`) do not.
   */
  serializedFieldTaint(fields: readonly string[], via: string, source?: ts.Expression): Taint | undefined {
    if (source && this.isOwnTokenSource(source)) return undefined;
    for (const f of fields) {
      if (isSecretName(f)) return { label: `field \`${f}\` kept by ${via}` };
      if (this.mode === 'secret') continue;
      const kind = tokenNameKind(f);
      if (kind === 'oauth' || kind === 'bearer' || kind === 'verifier') return { label: `token field \`${f}\` kept by ${via}`, kind: kind === 'oauth' ? 'provider-token' : kind };
    }
    return undefined;
  }

  /** True when a value is (a variable holding) the app's own freshly issued token set. */
  protected isOwnTokenSource(node: ts.Expression, depth = 0): boolean {
    const e = unwrap(node);
    if (this.isOwnTokenIssuer(e)) return true;
    if (ts.isIdentifier(e) && depth < 4) {
      const decl = this.symbols.declarationOf(e);
      if (decl && ts.isVariableDeclaration(decl) && decl.initializer) return this.isOwnTokenSource(decl.initializer, depth + 1);
    }
    return false;
  }

  /**
   * Field names given to `pick`, in any argument position (lodash and ramda): string literals,
   * arrays of them, and lists computed from constants (`[...BASE, 'accessToken']`,
   * `BASE.concat(['refreshToken'])`, `admin ? ADMIN_FIELDS : BASE`).
   */
  protected pickedFields(call: ts.CallExpression): string[] {
    const out: string[] = [];
    const add = (a: ts.Expression, depth: number): void => {
      if (depth > 6) return;
      const e = unwrap(a);
      if (ts.isStringLiteralLike(e)) out.push(e.text);
      else if (ts.isArrayLiteralExpression(e)) e.elements.forEach((el) => add(ts.isSpreadElement(el) ? el.expression : el, depth + 1));
      else if (ts.isConditionalExpression(e)) {
        add(e.whenTrue, depth + 1);
        add(e.whenFalse, depth + 1);
      } else if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(unwrap(e.expression)) && /^(?:concat|filter|slice)$/.test(calleeName(e) ?? '')) {
        add((unwrap(e.expression) as ts.PropertyAccessExpression).expression, depth + 1);
        if (calleeName(e) === 'concat') e.arguments.forEach((x) => add(x, depth + 1));
      } else if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
        const decl = this.symbols.declarationOf(ts.isIdentifier(e) ? e : e.name);
        if (decl && (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer && !ts.isObjectLiteralExpression(unwrap(decl.initializer))) {
          add(decl.initializer, depth + 1);
        }
      }
    };
    call.arguments.forEach((a) => add(a, 0));
    return out;
  }

  /** Fields a class exposes with class-transformer's `@Expose()` (by their exposed name). */
  exposedFields(cls: ts.ClassLikeDeclaration): string[] {
    const out: string[] = [];
    for (const m of cls.members) {
      if (!(ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m))) continue;
      const expose = decoratorsOf(m).find((dec) => decoratorName(dec) === 'Expose');
      if (!expose) continue;
      const opts = ts.isCallExpression(expose.expression) ? this.constants.objectLiteralOf(expose.expression.arguments[0]) : undefined;
      const renamed = this.constants.constValue(this.constants.propertyValue(opts, 'name'));
      const own = propertyNameText(m.name);
      for (const n of [own, typeof renamed === 'string' ? renamed : undefined]) if (n) out.push(n);
    }
    return out;
  }
}
