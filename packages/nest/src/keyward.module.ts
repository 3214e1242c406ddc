import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { KeywardExceptionFilter } from './http/keyward-exception.filter.js';
import { RESOLVED_OPTIONS } from './keyward.internal-constants.js';
import { KeywardHttpMiddleware } from './http/keyward-http.middleware.js';
import { KeywardEdge } from './http/keyward-edge.js';
import { KeywardGuard } from './http/keyward.guard.js';
import { ProxyMiddleware } from './proxy/proxy.middleware.js';
import { RequestContextMiddleware } from './redaction/request-context.middleware.js';
import { liveSecrets } from './redaction/live-secrets.js';
import { KEYWARD_MODULE_OPTIONS, KeywardConfigurableModule } from './keyward.module-definition.js';
import type { KeywardModuleOptions, ResolvedKeywardOptions } from './options/keyward-options.interface.js';
import { resolveKeywardOptions } from './options/validate-options.js';
import { SessionEngine } from './session/session.engine.js';
import { SessionGuard } from './session/session.guard.js';
import { SessionService } from './session/session.service.js';
import { CredentialService } from './vault/credential.service.js';
import { OriginGuard } from './origin/origin.guard.js';
import { UpgradeGuard } from './origin/upgrade.guard.js';
import { HostAllowlist } from './origin/host-allowlist.js';
import { CorsMiddleware } from './origin/cors.middleware.js';
import { ProxyService } from './proxy/proxy.service.js';
import { TransportMiddleware } from './transport/transport.middleware.js';
import { StartupReport } from './keyward.startup-report.js';
import { Vault } from './vault/vault.js';
import { KeywardEvents } from './events/keyward-events.js';

/** Every secret the options hold goes into the redaction registry at startup. */
function registerLiveSecrets(o: ResolvedKeywardOptions): ResolvedKeywardOptions {
  for (const s of o.session.secrets) liveSecrets.add(s, { pinned: true });
  for (const key of o.keyRing?.material() ?? []) liveSecrets.add(key, { pinned: true });
  for (const p of o.credentials.values()) for (const s of p.liveSecrets?.() ?? []) liveSecrets.add(s, { pinned: true });
  return o;
}

const providers: Provider[] = [
  { provide: RESOLVED_OPTIONS, inject: [KEYWARD_MODULE_OPTIONS], useFactory: (o: KeywardModuleOptions) => registerLiveSecrets(resolveKeywardOptions(o)) },
  KeywardEvents,
  { provide: SessionEngine, inject: [RESOLVED_OPTIONS, KeywardEvents], useFactory: (o: ResolvedKeywardOptions, events: KeywardEvents) => new SessionEngine(o.session, events) },
  SessionService,
  {
    provide: Vault,
    inject: [RESOLVED_OPTIONS],
    useFactory: (o: ResolvedKeywardOptions) => (o.keyRing ? new Vault(o.keyRing, o.session.store) : null),
  },
  CredentialService,
  ProxyService,
  StartupReport,
  HostAllowlist,
  UpgradeGuard,
  RequestContextMiddleware,
  TransportMiddleware,
  CorsMiddleware,
  ProxyMiddleware,
  KeywardHttpMiddleware,
  KeywardEdge,
  OriginGuard,
  SessionGuard,
  { provide: APP_GUARD, useClass: KeywardGuard },
  { provide: APP_FILTER, useClass: KeywardExceptionFilter },
];

/**
 * Keyward for NestJS: hardened sessions with every safe default. Options are validated
 * once at startup (every problem reported at once); in production the self-audit refuses
 * insecure settings.
 *
 * @example
 * KeywardModule.forRoot({
 *   session: { secrets: [process.env.SESSION_SECRET!], store: new RedisStore({ url: process.env.REDIS_URL }) },
 * })
 * @example
 * KeywardModule.forRootAsync({
 *   imports: [ConfigModule], inject: [ConfigService],
 *   useFactory: (c: ConfigService) => ({ session: { secrets: c.get('SESSION_SECRETS').split(','), store: ... } }),
 * })
 */
@Module({ imports: [DiscoveryModule], providers, exports: [SessionEngine, SessionService, KeywardEvents, Vault, CredentialService, ProxyService, StartupReport, RESOLVED_OPTIONS] })
export class KeywardModule extends KeywardConfigurableModule implements NestModule {
  constructor(@Inject(KeywardEdge) private readonly edge: KeywardEdge) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    // Where the edge cannot see every request, the same layer also runs as a middleware.
    if (!this.edge.coversEveryRequest()) consumer.apply(KeywardHttpMiddleware).forRoutes({ path: '{*splat}', method: RequestMethod.ALL });
  }
}
