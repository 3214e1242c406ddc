// The files of the consumer apps: what `nest new` writes, plus a login route and a proxy
// to the test's upstream, and the dependencies the package README tells a user to install.

/** Versions a user gets today from `nest new` (NestJS 11) and from the NestJS 12 docs. */
const NEST12 = '^12.5.0';
const NEST11 = '^11.1.0';

export type StoreKind = 'ioredis' | 'node-redis' | 'sqlite' | 'memory';

export interface AppSpec {
  /** Folder name and npm package name. */
  name: string;
  /** What the test reports about it. */
  title: string;
  files: Record<string, string>;
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

function storeCode(store: StoreKind): { imports: string; setup: string; expr: string; keywardImport: string } {
  switch (store) {
    case 'ioredis':
      return { imports: '', setup: '', expr: 'new RedisStore({ url: process.env.REDIS_URL! })', keywardImport: 'RedisStore' };
    case 'node-redis':
      return {
        imports: "import { createClient } from 'redis';\n",
        setup: '// The node-redis client the app already had for connect-redis.\nexport const redisClient = createClient({ url: process.env.REDIS_URL });\n',
        expr: 'new RedisStore({ client: redisClient })',
        keywardImport: 'RedisStore',
      };
    case 'sqlite':
      return { imports: '', setup: '', expr: 'new SqliteStore({ file: process.env.SQLITE_FILE! })', keywardImport: 'SqliteStore' };
    case 'memory':
      return { imports: '', setup: '', expr: 'new MemoryStore()', keywardImport: 'MemoryStore' };
  }
}

/** src/app.module.ts: a login route on the session and one proxied service (the test's upstream). */
function appModule(store: StoreKind): string {
  const s = storeCode(store);
  return `import { Body, Controller, Get, Module, Post, UnauthorizedException } from '@nestjs/common';
import { AllowAnonymous, CurrentSession, KeywardModule, RequestSession, ServerKeyProvider, ${s.keywardImport} } from '@keyward/nest';
${s.imports}
${s.setup}
@Controller('api/auth')
export class AuthController {
  @Post('login')
  @AllowAnonymous()
  async login(@CurrentSession() session: RequestSession, @Body() body: { username?: string; password?: string }) {
    if (body.username !== 'alice' || body.password !== 'alice-password') throw new UnauthorizedException();
    await session.login({ id: 'alice', name: 'Alice' });
    return { user: { name: 'Alice' } };
  }

  @Get('me')
  me(@CurrentSession() session: RequestSession) {
    return session.user;
  }
}

@Module({
  imports: [
    KeywardModule.forRoot({
      session: { secrets: [process.env.KEYWARD_SESSION_SECRET!], store: ${s.expr} },
      vault: { keys: [process.env.KEYWARD_VAULT_KEY!] },
      credentials: { upstream: new ServerKeyProvider({ env: 'UPSTREAM_API_KEY' }) },
      proxy: {
        services: {
          upstream: { baseUrl: \`\${process.env.UPSTREAM_URL}/v1/\`, credential: 'upstream', key: { header: 'x-api-key' }, methods: ['GET', 'POST'], allowHttpToLoopback: true },
        },
      },
    }),
  ],
  controllers: [AuthController],
})
export class AppModule {}
`;
}

/** The browser's side of the flow, as each app's own test runner runs it (fetch, Node >= 20). */
const FLOW_JS = `
/** Logs in, makes a proxied call; returns what the browser saw. */
export async function loginAndProxy(base) {
  const page = { 'x-csrf': '1', 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
  const login = await fetch(base + '/api/auth/login', { method: 'POST', headers: page, body: JSON.stringify({ username: 'alice', password: 'alice-password' }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const proxied = await fetch(base + '/api/proxy/upstream/echo', { method: 'POST', headers: { ...page, cookie }, body: '{}' });
  const text = await proxied.text();
  const headers = JSON.stringify([...proxied.headers]);
  return { loginStatus: login.status, cookie, status: proxied.status, text, headers };
}
`;

const TSCONFIG_ESM = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: false,
    types: ['node'],
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

const MAIN_ESM = (adapter: 'express' | 'fastify'): string =>
  adapter === 'express'
    ? `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log(\`listening on \${await app.getUrl()}\`);
`
    : `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log(\`listening on \${await app.getUrl()}\`);
`;

/**
 * A NestJS 12 app in ES modules, compiled with tsc (the repository's TypeScript 7, as the
 * NestJS 12 docs build ES module apps) and run with node.
 */
export function nest12App(o: { name: string; adapter: 'express' | 'fastify'; store: StoreKind; tarball: string; core: string; vitest?: boolean }): AppSpec {
  const deps: Record<string, string> = {
    '@keyward/nest': `file:${o.tarball}`,
    // Not on the registry yet: the packed tarball stands in for what @keyward/nest depends on.
    '@keyward/core': `file:${o.core}`,
    '@nestjs/common': NEST12,
    '@nestjs/core': NEST12,
    [`@nestjs/platform-${o.adapter}`]: NEST12,
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
  };
  // What the package README says to install for the chosen store.
  if (o.store === 'ioredis') deps.ioredis = '^6.0.0';
  if (o.store === 'sqlite') deps['better-sqlite3'] = '^12.0.0';
  if (o.store === 'node-redis') deps.redis = '^6.0.0';
  const devDeps: Record<string, string> = { '@types/node': '^20.19.0' };
  const files: Record<string, string> = {
    'package.json': json({
      name: o.name,
      version: '0.0.1',
      private: true,
      type: 'module',
      scripts: { build: 'tsc -p tsconfig.json', start: 'node dist/main.js', ...(o.vitest ? { test: 'vitest run' } : {}) },
      dependencies: deps,
      devDependencies: o.vitest ? { ...devDeps, vitest: '^4.0.0' } : devDeps,
    }),
    'tsconfig.json': json(TSCONFIG_ESM),
    'src/main.ts': MAIN_ESM(o.adapter),
    'src/app.module.ts': appModule(o.store),
  };
  if (o.vitest) {
    files['test/flow.js'] = FLOW_JS;
    const fastify = o.adapter === 'fastify';
    files['test/keyward.spec.ts'] = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
${fastify ? "import { FastifyAdapter } from '@nestjs/platform-fastify';\n" : ''}import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../dist/app.module.js';
import { loginAndProxy } from './flow.js';

describe('Keyward in a Vitest suite', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await NestFactory.create(AppModule, ${fastify ? 'new FastifyAdapter(), ' : ''}{ logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
  });

  it('logs in, proxies with the key attached, and never returns the key', async () => {
    const seen = await loginAndProxy(await app.getUrl());
    expect(seen.loginStatus).toBe(201);
    expect(seen.cookie).toMatch(/=/);
    expect(seen.status).toBe(200);
    expect(seen.text).toContain('echo');
    expect(seen.text).not.toContain(process.env.UPSTREAM_API_KEY);
    expect(seen.headers).not.toContain(process.env.UPSTREAM_API_KEY);
  });
});
`;
  }
  return { name: o.name, title: `NestJS 12 ESM, ${o.adapter}, ${o.store}${o.vitest ? ', Vitest' : ''}`, files };
}

/**
 * A NestJS 11 app as `nest new` generates it (CommonJS, Jest with ts-jest, its e2e test),
 * with Keyward added. Dev dependencies are those its tests and type-check use (the CLI,
 * ESLint and Prettier are left out to keep the install short).
 */
export function nest11App(o: { name: string; store: StoreKind; tarball: string; core: string }): AppSpec {
  const deps: Record<string, string> = {
    '@keyward/nest': `file:${o.tarball}`,
    '@keyward/core': `file:${o.core}`,
    '@nestjs/common': NEST11,
    '@nestjs/core': NEST11,
    '@nestjs/platform-express': NEST11,
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
  };
  if (o.store === 'ioredis') deps.ioredis = '^6.0.0';
  if (o.store === 'sqlite') deps['better-sqlite3'] = '^12.0.0';
  // node-redis 4: the version most connect-redis apps have.
  if (o.store === 'node-redis') deps.redis = '^4.7.0';
  return {
    name: o.name,
    title: `NestJS 11 CommonJS, express, ${o.store}, Jest e2e + tsc 5`,
    files: {
      'package.json': json({
        name: o.name,
        version: '0.0.1',
        private: true,
        license: 'UNLICENSED',
        scripts: { build: 'tsc -p tsconfig.build.json', 'start:prod': 'node dist/main', test: 'jest', 'test:e2e': 'jest --config ./test/jest-e2e.json' },
        dependencies: deps,
        devDependencies: {
          '@nestjs/testing': NEST11,
          '@types/express': '^5.0.0',
          '@types/jest': '^30.0.0',
          '@types/node': '^20.19.0',
          '@types/supertest': '^6.0.2',
          jest: '^30.0.0',
          supertest: '^7.0.0',
          'ts-jest': '^29.2.5',
          typescript: '^5.7.3',
        },
        jest: {
          moduleFileExtensions: ['js', 'json', 'ts'],
          rootDir: 'src',
          testRegex: '.*\\.spec\\.ts$',
          transform: { '^.+\\.(t|j)s$': 'ts-jest' },
          collectCoverageFrom: ['**/*.(t|j)s'],
          coverageDirectory: '../coverage',
          testEnvironment: 'node',
        },
      }),
      // nest new's tsconfig.json (schematics 11).
      'tsconfig.json': json({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          resolvePackageJsonExports: true,
          esModuleInterop: true,
          isolatedModules: true,
          declaration: true,
          removeComments: true,
          emitDecoratorMetadata: true,
          experimentalDecorators: true,
          allowSyntheticDefaultImports: true,
          target: 'ES2023',
          sourceMap: true,
          outDir: './dist',
          baseUrl: './',
          incremental: true,
          skipLibCheck: true,
          strictNullChecks: true,
          forceConsistentCasingInFileNames: true,
          noImplicitAny: false,
          strictBindCallApply: false,
          noFallthroughCasesInSwitch: false,
        },
      }),
      'tsconfig.build.json': json({ extends: './tsconfig.json', exclude: ['node_modules', 'test', 'dist', '**/*spec.ts'] }),
      // The tsconfig of apps generated before 2025 (and most existing ones): `module: commonjs`,
      // which reads only top-level `main` / `types`; library types checked too.
      'tsconfig.commonjs.json': json({
        extends: './tsconfig.json',
        compilerOptions: { module: 'commonjs', moduleResolution: 'node10', resolvePackageJsonExports: false, skipLibCheck: false, noEmit: true, incremental: false, ignoreDeprecations: '5.0' },
      }),
      'test/jest-e2e.json': json({
        moduleFileExtensions: ['js', 'json', 'ts'],
        rootDir: '.',
        testEnvironment: 'node',
        testRegex: '.e2e-spec.ts$',
        transform: { '^.+\\.(t|j)s$': 'ts-jest' },
      }),
      'src/main.ts': `import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  await app.listen(process.env.PORT ?? 3000);
}
bootstrap();
`,
      'src/app.module.ts': appModule(o.store),
      'test/app.e2e-spec.ts': `import { Test, TestingModule } from '@nestjs/testing';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { App } from 'supertest/types';
import { AppModule${o.store === 'node-redis' ? ', redisClient' : ''} } from './../src/app.module';

describe('Keyward (e2e)', () => {
  let app: INestApplication<App>;

  beforeEach(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    await app.init();
  });

  afterEach(async () => {
    await app.close();
  });
${o.store === 'node-redis' ? '\n  afterAll(async () => {\n    await redisClient.quit();\n  });\n' : ''}
  it('logs in, proxies with the key attached, and never returns the key', async () => {
    const page = { 'x-csrf': '1', 'sec-fetch-site': 'same-origin' };
    const agent = request.agent(app.getHttpServer());
    await agent.post('/api/auth/login').set(page).send({ username: 'alice', password: 'alice-password' }).expect(201);
    const res = await agent.post('/api/proxy/upstream/echo').set(page).send({}).expect(200);
    expect(res.text).toContain('echo');
    const key = process.env.UPSTREAM_API_KEY!;
    expect(res.text).not.toContain(key);
    expect(JSON.stringify(res.headers)).not.toContain(key);
  });

  it('refuses the proxied call without a session', async () => {
    await request(app.getHttpServer()).post('/api/proxy/upstream/echo').set({ 'x-csrf': '1', 'sec-fetch-site': 'same-origin' }).send({}).expect(401);
  });
});
`,
    },
  };
}

/** An empty folder with the CLI tarball and one file written the way the advisory warns against. */
export function cliFolder(o: { tarball: string; core: string }): AppSpec {
  return {
    name: 'cli-only',
    title: '@keyward/cli alone, keyward audit',
    files: {
      'package.json': json({ name: 'cli-only', version: '0.0.1', private: true, devDependencies: { '@keyward/cli': `file:${o.tarball}`, '@keyward/core': `file:${o.core}` } }),
      'src/settings.controller.ts': `import { Body, Controller, Post, Req } from '@nestjs/common';
import cookieSession from 'cookie-session';
import type { Request } from 'express';

export const sessionMiddleware = cookieSession({ name: 'session', keys: [process.env.SESSION_KEY!] });

@Controller('settings')
export class SettingsController {
  @Post('api-key')
  save(@Req() req: Request, @Body() dto: { apiKey: string }) {
    req.session!.apiKey = dto.apiKey; // the API key in the cookie itself
    res.cookie('openai_key', process.env.OPENAI_API_KEY);
    return { saved: true };
  }
}
declare const res: { cookie(name: string, value?: string): void };
`,
    },
  };
}
