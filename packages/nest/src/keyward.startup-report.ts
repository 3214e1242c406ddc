import { Inject, Injectable, Logger, RequestMethod, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { Server as TlsServer } from 'node:tls';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { SKIP_ORIGIN_CHECK } from './http/skip-origin-check.decorator.js';
import { USES_CREDENTIALS } from './http/origin.guard.js';
import { ALLOW_ANONYMOUS } from './keyward.constants.js';
import { PROXY_PATH, RESOLVED_OPTIONS } from './keyward.internal-constants.js';
import { KeywardConfigError, KeywardErrorCode } from './keyward.errors.js';
import type { ResolvedKeywardOptions } from './options/keyward-options.interface.js';
import { listenerFindings, productionWarnings } from './options/production-audit.js';

/** One route as the startup report sees it. */
export interface RouteReport {
  method: string;
  path: string;
  controller: string;
  handler: string;
  /** Why the origin guard is skipped, if it is. */
  originCheckSkipped: string | null;
  usesCredentials: boolean;
  anonymous: boolean;
}

function join(...parts: string[]): string {
  const p = parts.map((x) => x.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/');
  return `/${p}`;
}

/**
 * At startup: finishes the self-audit with what only the running app knows (production
 * refuses a plain-HTTP listener that trusts no proxy), logs the development warnings of
 * option validation (weak secrets and keys, by position), lists every route that opts
 * out of the origin/CSRF guard with its reason, and exposes the full route table (used by
 * the test that walks every route).
 */
@Injectable()
export class StartupReport implements OnApplicationBootstrap {
  private readonly logger = new Logger('Keyward');
  private table: RouteReport[] = [];

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(PROXY_PATH) private readonly proxyPath: string | false,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Every route of the app with its protection. */
  get routes(): readonly RouteReport[] {
    return this.table;
  }

  onApplicationBootstrap(): void {
    const refusals = listenerFindings(this.options, this.listener());
    if (refusals.length > 0) throw new KeywardConfigError(refusals, KeywardErrorCode.InsecureProduction);
    for (const warning of this.options.warnings) this.logger.warn(warning);
    for (const warning of productionWarnings(this.options)) this.logger.warn(warning);
    if (this.options.production && this.options.transport.httpsServedElsewhere) {
      this.logger.log('transport.httpsServedElsewhere: true; plain-HTTP requests to this server are still refused.');
    }
    this.table = this.routeTable();
    for (const r of this.table.filter((x) => x.originCheckSkipped)) {
      this.logger.warn(`Origin/CSRF check skipped on ${r.method} ${r.path}: ${r.originCheckSkipped}`);
    }
  }

  /** The app's own HTTP server, as the audit sees it: TLS or not; null when there is none. */
  private listener(): { tls: boolean } | null {
    const server: unknown = this.adapterHost?.httpAdapter?.getHttpServer?.();
    if (typeof server !== 'object' || server === null) return null;
    return { tls: server instanceof TlsServer };
  }

  private routeTable(): RouteReport[] {
    const out: RouteReport[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      const type = wrapper.metatype as (new (...a: unknown[]) => unknown) | undefined;
      if (!instance || !type) continue;
      const base = this.reflector.get<string | string[]>(PATH_METADATA, type);
      const prefix = Array.isArray(base) ? base[0] ?? '' : base ?? '';
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as (...a: unknown[]) => unknown;
        const path = this.reflector.get<string | string[]>(PATH_METADATA, handler);
        if (path === undefined) continue;
        const method = this.reflector.get<RequestMethod>(METHOD_METADATA, handler);
        const targets = [handler, type];
        for (const p of Array.isArray(path) ? path : [path]) {
          out.push({
            method: RequestMethod[method] ?? 'ALL',
            path: join(prefix, p),
            controller: type.name,
            handler: name,
            originCheckSkipped: this.reflector.getAllAndOverride<string>(SKIP_ORIGIN_CHECK, targets) ?? null,
            usesCredentials: this.reflector.getAllAndOverride<boolean>(USES_CREDENTIALS, targets) === true,
            anonymous: this.reflector.getAllAndOverride<boolean>(ALLOW_ANONYMOUS, targets) === true,
          });
        }
      }
    }
    // The proxy is a route of the edge, not a controller: list one route per service, guarded for every method.
    if (this.proxyPath !== false) {
      for (const name of this.options.proxy.keys()) {
        out.push({ method: 'ALL', path: join(this.proxyPath, name, '*'), controller: 'ProxyRoute', handler: 'forward', originCheckSkipped: null, usesCredentials: true, anonymous: false });
      }
    }
    return out;
  }
}
