import { Module, type DynamicModule } from '@nestjs/common';
import { KeywardModule, RedisStore, SqliteStore, type SessionStore } from '@keyward/nest';
import { join } from 'node:path';
import { AuthController } from './auth/auth.controller.js';
import { DemoUsers } from './auth/demo-users.service.js';
import type { DemoConfig } from './config/demo-config.js';
import { HealthController } from './health/health.controller.js';
import { PageController } from './page/page.controller.js';

/** The session store the environment asks for: Redis (or a cluster list), else the embedded SQLite file. */
export function storeFor(config: DemoConfig): SessionStore {
  if (config.redisUrl) {
    const urls = config.redisUrl.split(',').map((u) => u.trim()).filter(Boolean);
    if (urls.length > 1) return new RedisStore({ cluster: urls.map((u) => u.replace(/^redis:\/\//, '')) });
    return new RedisStore({ url: urls[0]! });
  }
  return new SqliteStore({ file: join(config.dataDir, 'keyward.sqlite') });
}

/** The reference app: Keyward with every default on, plus the demo's routes. */
@Module({})
export class DemoModule {
  static register(config: DemoConfig, users: DemoUsers): DynamicModule {
    return {
      module: DemoModule,
      imports: [
        KeywardModule.forRoot({
          production: config.production,
          demoUsers: users.names.length > 0,
          session: {
            secrets: config.sessionSecrets,
            store: storeFor(config),
            ...(config.idleTimeoutMs ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
            ...(config.absoluteTimeoutMs ? { absoluteTimeoutMs: config.absoluteTimeoutMs } : {}),
          },
        }),
      ],
      controllers: [HealthController, AuthController, PageController],
      providers: [{ provide: DemoUsers, useValue: users }],
    };
  }
}
