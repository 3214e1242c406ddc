import { ConfigurableModuleBuilder, Inject } from '@nestjs/common';
import type { KeywardModuleOptions } from './options/keyward-options.interface.js';
import { PROXY_PATH } from './keyward.internal-constants.js';
import { ConnectController } from './oauth/connect.controller.js';
import { OidcController } from './oidc/oidc.controller.js';

export const {
  ConfigurableModuleClass: KeywardConfigurableModule,
  MODULE_OPTIONS_TOKEN: KEYWARD_MODULE_OPTIONS,
  OPTIONS_TYPE: KEYWARD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: KEYWARD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KeywardModuleOptions>({ moduleName: 'Keyward' })
  .setClassMethodName('forRoot')
  // connectRoutes: the connected-accounts routes (/api/connect/:name, its callback, /api/connections).
  // oidcRoutes: sign-in with OpenID Connect (/api/auth/oidc/*) and the user endpoint (/api/auth/user).
  .setExtras({ isGlobal: true, proxyPath: 'api/proxy' as string | false, connectRoutes: true as boolean, oidcRoutes: true as boolean }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    controllers: [
      ...(definition.controllers ?? []),
      ...(extras.connectRoutes === false ? [] : [ConnectController]),
      ...(extras.oidcRoutes === false ? [] : [OidcController]),
    ],
    providers: [...(definition.providers ?? []), { provide: PROXY_PATH, useValue: extras.proxyPath }],
  }))
  .build();

/**
 * Injects the raw options given to `KeywardModule.forRoot()`.
 *
 * @example
 * constructor(@InjectKeywardOptions() private readonly options: KeywardModuleOptions) {}
 */
export const InjectKeywardOptions = (): PropertyDecorator & ParameterDecorator => Inject(KEYWARD_MODULE_OPTIONS);
