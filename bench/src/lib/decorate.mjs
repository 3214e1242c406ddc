// TypeScript's legacy decorators, applied by hand, so the bench apps are plain ES modules
// that need no compile step. `method(Cls, 'name', [Get('x')], [[0, CurrentSession()]])`
// is what `@Get('x') name(@CurrentSession() s) {}` compiles to.
import 'reflect-metadata';

/** Applies class decorators (bottom-up, as TypeScript does). */
export function klass(target, decorators) {
  return Reflect.decorate(decorators, target);
}

/** Applies method decorators and parameter decorators ([index, decorator] pairs). */
export function method(target, name, decorators, params = []) {
  const proto = target.prototype;
  const paramDecorators = params.map(([index, d]) => (t, k) => d(t, k, index));
  const descriptor = Object.getOwnPropertyDescriptor(proto, name);
  const result = Reflect.decorate([...decorators, ...paramDecorators], proto, name, descriptor);
  if (result) Object.defineProperty(proto, name, result);
}
