import ts from '../../typescript.cjs';
import { PASSTHROUGH_CALLS, REQUEST_OBJECT_NAMES, SANITIZER_CALLS, calleeName, objectName, returnExpressions, unwrap } from './ast.js';
import { isSecretConfigName, isSecretName } from '../../secrets/secret-detector.js';
import { PICK_CALL, TRANSFORM_CALL } from './knowledge/sink-shapes.js';
import type { Taint } from './taint.js';
import { SerializerTrace } from './trace-serializers.js';

/* The value-following room, calls: config and header reads, JWTs, pass-through calls, functions followed to their return values. */

/** Follows values through calls. */
export abstract class CallTrace extends SerializerTrace {
  taintOfCall(call: ts.CallExpression, d: number): Taint | undefined {
    const name = calleeName(call);
    const callee = unwrap(call.expression);
    if (!name) return undefined;
    // ConfigService.get('STRIPE_SECRET_KEY'), config.getOrThrow('session.secret')
    if ((name === 'get' || name === 'getOrThrow') && ts.isPropertyAccessExpression(callee)) {
      const arg = call.arguments[0];
      const obj = objectName(callee.expression) ?? '';
      if (arg && ts.isStringLiteralLike(arg)) {
        if (/config|env|settings|secrets?$/i.test(obj) && isSecretConfigName(arg.text)) return { label: `config \`${arg.text}\`` };
        if (REQUEST_OBJECT_NAMES.test(obj) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
        if (/^headers?$/i.test(obj) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
        if (/^(?:headers?)$/i.test(obj) || REQUEST_OBJECT_NAMES.test(obj)) {
          const t = this.tokenNameTaint(arg.text);
          if (t) return t;
        }
      }
    }
    if (name === 'header' && ts.isPropertyAccessExpression(callee) && REQUEST_OBJECT_NAMES.test(objectName(callee.expression) ?? '')) {
      const arg = call.arguments[0];
      if (arg && ts.isStringLiteralLike(arg) && isSecretName(arg.text)) return { label: `request header \`${arg.text}\`` };
    }
    // request.session.get('token'), ctx.cookies.get('token')
    const keyed = this.keyedReadTaint(call, d);
    if (keyed !== false) return keyed;
    // a JWT whose payload holds the secret (or, where any token counts, the app's own JWT)
    if ((name === 'sign' || name === 'signAsync' || name === 'encode') && call.arguments[0]) {
      const t = this.taint(call.arguments[0], d);
      if (t && !(t.kind === 'own-token' || t.kind === 'named-token')) return { ...t, label: `${t.label} (inside a JWT payload)` };
      return this.ownTokenTaint(call);
    }
    if (SANITIZER_CALLS.test(name)) return undefined;
    if (PICK_CALL.test(name) && call.arguments.length >= 2) {
      const source = call.arguments.find((a) => !ts.isArrayLiteralExpression(unwrap(a)) && !ts.isStringLiteralLike(unwrap(a)));
      return this.serializedFieldTaint(this.pickedFields(call), `\`${name}\``, source);
    }
    if (TRANSFORM_CALL.test(name)) {
      const cls = this.symbols.classOf(call.arguments[0]) ?? (call.arguments[0] && ts.isNewExpression(unwrap(call.arguments[0])) ? this.symbols.classOf((unwrap(call.arguments[0]) as ts.NewExpression).expression) : undefined);
      if (cls) return this.serializedFieldTaint(this.exposedFields(cls), `\`@Expose()\` in \`${cls.name?.text ?? 'a class'}\``);
    }
    if (this.mode !== 'secret') {
      const provider = this.providerCallTaint(call);
      if (provider) return provider;
    }
    if (PASSTHROUGH_CALLS.has(name) || (this.mode !== 'secret' && /^(?:json|text|then)$/.test(name))) {
      for (const a of call.arguments) {
        const t = this.taint(a, d);
        if (t) return t;
      }
      if (ts.isPropertyAccessExpression(callee) && !['JSON', 'Buffer', 'Object', 'String'].includes(objectName(callee.expression) ?? '')) {
        return this.taint(callee.expression, d);
      }
      return undefined;
    }
    const fn = this.symbols.functionOf(call.expression);
    if (fn) {
      // inside this call, the function's parameters are this call's arguments (not every caller's)
      const saved = fn.parameters.map((p) => [p, this.bindings.has(p), this.bindings.get(p)] as const);
      fn.parameters.forEach((p, i) => this.bindings.set(p, p.dotDotDotToken ? undefined : call.arguments[i]));
      try {
        for (const r of returnExpressions(fn)) {
          const t = this.taint(r, d);
          // a getter imported from another file: say where the value comes from
          if (t) return fn.getSourceFile() === this.sf ? t : { ...t, label: `${t.label} (returned by \`${name}()\` in ${this.displayPath(fn.getSourceFile())})` };
        }
        return undefined;
      } finally {
        for (const [p, had, v] of saved) {
          if (had) this.bindings.set(p, v);
          else this.bindings.delete(p);
        }
      }
    }
    // getApiKey(), this.keys.loadStripeSecret()
    const stripped = name.replace(/^(?:get|load|fetch|read|resolve|find|retrieve|obtain|decrypt)/, '');
    if (stripped !== name && stripped.length > 0 && isSecretName(stripped)) return { label: `\`${name}()\`` };
    return this.mode !== 'secret' && this.isOwnTokenIssuer(call) ? this.ownTokenTaint(call) : undefined;
  }

  /**
   * A parameter of a callback that receives a token response: `request({ url: tokenUrl }, (err, response, body) => …)`,
   * `fetch(tokenUrl).then((data) => …)`.
   */
  taintOfCallbackParameter(param: ts.ParameterDeclaration, d: number): Taint | undefined {
    const fn = param.parent;
    if (!(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) || !ts.isCallExpression(fn.parent)) return undefined;
    const call = fn.parent;
    const index = fn.parameters.indexOf(param);
    if (calleeName(call) === 'then' && index === 0 && ts.isPropertyAccessExpression(call.expression)) {
      // the promise's value: what the chain before `.then` resolves to
      return this.taint(call.expression.expression, d);
    }
    if (index >= 1 && call.arguments.includes(fn)) return this.providerCallTaint(call);
    return undefined;
  }
}
