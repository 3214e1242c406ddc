import { ClientAddress } from './http/client-address.js';
import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { CorsStep } from './http/cors.step.js';
import { EdgePipeline } from './http/edge-pipeline.js';
import { FrameworkCorsCheck } from './http/framework-cors.check.js';
import { HostStep } from './http/host.step.js';
import { KeywardEdge } from './http/keyward-edge.js';
import { KeywardErrorInterceptor } from './http/keyward-error.interceptor.js';
import { KeywardExceptionFilter } from './http/keyward-exception.filter.js';
import { KeywardGuard } from './http/keyward.guard.js';
import { OriginGuard } from './http/origin.guard.js';
import { ProxyRoute } from './http/proxy.step.js';
import { RequestContextStep } from './http/request-context.step.js';
import { RoutePolicies } from './http/route-policy.js';
import { SessionGuard } from './http/session.guard.js';
import { TransportStep } from './http/transport.step.js';
import { UpgradeCheck } from './http/upgrade.check.js';
import { RESOLVED_OPTIONS } from './keyward.internal-constants.js';
import { KEYWARD_MODULE_OPTIONS, KeywardConfigurableModule } from './keyward.module-definition.js';
import { StartupReport } from './keyward.startup-report.js';
import type { KeywardModuleOptions, ResolvedKeywardOptions } from './options/keyward-options.interface.js';
import { resolveKeywardOptions } from './options/validate-options.js';
import { hostPolicyOf } from './origin/host-policy.js';
import { ProxyService } from './proxy/proxy.service.js';
import { liveSecrets } from './redaction/live-secrets.js';
import { SessionEngine } from './session/session.engine.js';
import { SessionService } from './session/session.service.js';
import { CredentialService } from './vault/credential.service.js';
import { Vault } from './vault/vault.js';
import { KeywardEvents } from './events/keyward-events.js';
import { ConnectionService } from './oauth/connection.service.js';
import { OAUTH_TRANSPORT } from './oauth/connect.controller.js';
import { OidcSignInService } from './oidc/oidc-sign-in.service.js';

/** The redaction registry takes its bounds, and every secret the options hold, at startup. */
function registerLiveSecrets(o: ResolvedKeywardOptions): ResolvedKeywardOptions {
  liveSecrets.configure(o.redaction);
  for (const s of o.session.secrets) liveSecrets.add(s, { pinned: true });
  for (const key of o.keyRing?.material() ?? []) liveSecrets.add(key, { pinned: true });
  for (const p of o.credentials.values()) for (const s of p.liveSecrets?.() ?? []) liveSecrets.add(s, { pinned: true });
  // Connected accounts: client secrets and private keys are configuration secrets too.
  for (const c of o.oauth.connections.values()) {
    const a = c.clientAuth;
    if (a.kind === 'secret') liveSecrets.add(a.secret, { pinned: true });
    else for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) if (typeof a.jwk[part] === 'string') liveSecrets.add(a.jwk[part], { pinned: true });
  }
  // Sign-in with OpenID Connect: the same, for its client.
  const oidcAuth = o.oidc?.connection.clientAuth;
  if (oidcAuth?.kind === 'secret') liveSecrets.add(oidcAuth.secret, { pinned: true });
  else if (oidcAuth) for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) if (typeof oidcAuth.jwk[part] === 'string') liveSecrets.add(oidcAuth.jwk[part], { pinned: true });
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
  {
    // The lifecycle binding: the credential providers follow the session (mint at login,
    // re-bind on a new ID, revoke at the end). Wired here, so the vault never imports the engine.
    provide: CredentialService,
    inject: [RESOLVED_OPTIONS, SessionEngine, Vault, KeywardEvents],
    useFactory: (o: ResolvedKeywardOptions, engine: SessionEngine, vault: Vault, events: KeywardEvents) => {
      const credentials = new CredentialService(o.credentials, vault, engine, events);
      engine.addListener(credentials.lifecycle);
      return credentials;
    },
  },
  {
    provide: ProxyService,
    inject: [RESOLVED_OPTIONS, CredentialService],
    useFactory: (o: ResolvedKeywardOptions, credentials: CredentialService) =>
      new ProxyService({ services: o.proxy, origin: o.origin, hosts: hostPolicyOf(o.origin, o.transport.publicOrigin) }, credentials),
  },
  {
    // Connected accounts: the flows (their tokens are credentials of CredentialService above).
    provide: ConnectionService,
    inject: [RESOLVED_OPTIONS, Vault],
    useFactory: (o: ResolvedKeywardOptions, vault: Vault) =>
      new ConnectionService(o.oauth, o.oauth.runtime, vault, o.session.store, o.session.clock, { secure: o.session.cookie.secure, secrets: o.session.secrets }),
  },
  {
    // Sign-in with OpenID Connect (null when not configured): its tokens are the `oidc`
    // credential above; its listener keeps the `sid` index as small as the live sessions.
    provide: OidcSignInService,
    inject: [RESOLVED_OPTIONS, SessionEngine, Vault],
    useFactory: (o: ResolvedKeywardOptions, engine: SessionEngine, vault: Vault) => {
      if (!o.oidc) return null;
      const oidc = new OidcSignInService(o.oidc, o.oidc.runtime.client, o.oidc.runtime.provider, engine, vault, o.session.store, o.session.clock, { secure: o.session.cookie.secure, secrets: o.session.secrets });
      engine.addListener(oidc.lifecycle);
      return oidc;
    },
  },
  { provide: OAUTH_TRANSPORT, inject: [RESOLVED_OPTIONS], useFactory: (o: ResolvedKeywardOptions) => o.transport },
  StartupReport,
  ClientAddress,
  // The edge: its steps, its entry points, its Nest guard, its Nest error filter, and the
  // interceptor that hands a handler's KeywardError to the filters as an HttpException.
  RequestContextStep,
  HostStep,
  TransportStep,
  CorsStep,
  FrameworkCorsCheck,
  ProxyRoute,
  EdgePipeline,
  UpgradeCheck,
  KeywardEdge,
  RoutePolicies,
  OriginGuard,
  SessionGuard,
  { provide: APP_GUARD, useClass: KeywardGuard },
  { provide: APP_FILTER, useClass: KeywardExceptionFilter },
  { provide: APP_INTERCEPTOR, useClass: KeywardErrorInterceptor },
];

/**
 * Keyward for NestJS: hardened sessions with every safe default. This class only wires:
 * the edge (`http/`), the capabilities below it, and the lifecycle binding of the vault's
 * providers to the session engine. Options are validated
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
@Module({ imports: [DiscoveryModule], providers, exports: [SessionEngine, SessionService, KeywardEvents, Vault, CredentialService, ConnectionService, OidcSignInService, ProxyService, StartupReport, ClientAddress, RESOLVED_OPTIONS, RoutePolicies] })
export class KeywardModule extends KeywardConfigurableModule implements NestModule {
  constructor(@Inject(KeywardEdge) private readonly edge: KeywardEdge) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    // Where the edge cannot see every request, the same layer also runs as a middleware.
    if (!this.edge.coversEveryRequest()) consumer.apply(EdgePipeline).forRoutes({ path: '{*splat}', method: RequestMethod.ALL });
  }
}
