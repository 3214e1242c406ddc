import { ConfigurableModuleBuilder, Inject } from '@nestjs/common';
import type { KeywardModuleOptions } from './options/keyward-options.interface.js';

export const {
  ConfigurableModuleClass: KeywardConfigurableModule,
  MODULE_OPTIONS_TOKEN: KEYWARD_MODULE_OPTIONS,
  OPTIONS_TYPE: KEYWARD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: KEYWARD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KeywardModuleOptions>({ moduleName: 'Keyward' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/**
 * Injects the raw options given to `KeywardModule.forRoot()`.
 *
 * @example
 * constructor(@InjectKeywardOptions() private readonly options: KeywardModuleOptions) {}
 */
export const InjectKeywardOptions = (): PropertyDecorator & ParameterDecorator => Inject(KEYWARD_MODULE_OPTIONS);
