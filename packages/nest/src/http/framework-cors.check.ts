import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { KeywardConfigError } from '../keyward.errors.js';
import { RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { originOf } from '../origin/origin-policy.js';

const CHECKED = Symbol('keyward.frameworkCorsChecked');

interface CorsCapableAdapter {
  enableCors(options?: unknown): unknown;
  [CHECKED]?: true;
}

/**
 * Refuses the framework's own CORS beside Keyward's: `app.enableCors()` (or the `cors`
 * option of `NestFactory.create`) throws a {@link KeywardConfigError} that names the
 * Keyward setting to use instead, with its value. Keyward answers CORS at its edge, ahead
 * of the framework: a preflight never reaches the framework's CORS, and the two would set
 * different `Access-Control-Allow-*` headers on the other answers (a reflected origin with
 * credentials on a GET would let any site read the user's data). One list,
 * `cors.origins`, decides both CORS and the origin/CSRF check.
 *
 * It takes hold of the HTTP adapter as soon as Nest has one (`HttpAdapterHost.init$`),
 * before the app's bootstrap code can call `enableCors()`, on Express and Fastify alike,
 * with `NestFactory.create` and with `Test.createTestingModule(...).createNestApplication()`.
 */
@Injectable()
export class FrameworkCorsCheck {
  constructor(
    @Inject(HttpAdapterHost) host: HttpAdapterHost,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
  ) {
    const init$ = (host as Partial<Pick<HttpAdapterHost, 'init$'>>).init$;
    if (init$) init$.subscribe(() => this.hold(host.httpAdapter));
    else this.hold(host.httpAdapter);
  }

  private hold(adapter: unknown): void {
    const a = adapter as Partial<CorsCapableAdapter> | undefined;
    if (!a || typeof a.enableCors !== 'function' || a[CHECKED]) return;
    a[CHECKED] = true;
    const { options } = this;
    a.enableCors = function enableCors(corsOptions?: unknown): never {
      throw new KeywardConfigError([frameworkCorsProblem(corsOptions, options)]);
    };
  }
}

/** The problem line for a framework CORS call: what to remove, and the Keyward setting to write instead, with its value. */
export function frameworkCorsProblem(corsOptions: unknown, options: Pick<ResolvedKeywardOptions, 'cors'>): string {
  const origins = options.cors ? [...options.cors.origins] : originsOf(corsOptions);
  const methods = options.cors ? undefined : methodsOf(corsOptions);
  const setting = `cors: { origins: ${JSON.stringify(origins.length > 0 ? origins : ['https://app.example.com'])}${methods ? `, methods: ${JSON.stringify(methods)}` : ''} }`;
  const then = options.cors
    ? `keep KeywardModule.forRoot({ ..., ${setting} }) (already set)`
    : origins.length > 0
      ? `set KeywardModule.forRoot({ ..., ${setting} })`
      : `set KeywardModule.forRoot({ ..., ${setting} }) with the exact origins of your front end`;
  return (
    'app.enableCors() cannot be used with Keyward: Keyward answers CORS itself, ahead of the framework (a preflight never reaches ' +
    'enableCors), from the list its origin/CSRF check allows. ' +
    `Remove app.enableCors(...) (and NestFactory.create's \`cors\` option) and ${then}.`
  );
}

/** The exact origins of an `enableCors({ origin })` option, when it lists them (a string or an array of strings). */
function originsOf(corsOptions: unknown): string[] {
  if (typeof corsOptions !== 'object' || corsOptions === null) return [];
  const raw = (corsOptions as { origin?: unknown }).origin;
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
  const out: string[] = [];
  for (const o of list) {
    const normalized = typeof o === 'string' && o !== '*' ? originOf(o) : null;
    if (normalized && !out.includes(normalized)) out.push(normalized);
  }
  return out;
}

function methodsOf(corsOptions: unknown): string[] | undefined {
  if (typeof corsOptions !== 'object' || corsOptions === null) return undefined;
  const raw = (corsOptions as { methods?: unknown }).methods;
  const list = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : [];
  const methods = list.map((m) => String(m).trim().toUpperCase()).filter((m) => /^[A-Z]{3,7}$/.test(m));
  return methods.length > 0 ? methods : undefined;
}
