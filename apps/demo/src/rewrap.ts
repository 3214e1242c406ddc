import 'reflect-metadata';
import { KeywardLogger, Vault, installStdioRedaction } from '@keyward/nest';
import { NestFactory } from '@nestjs/core';
import { DemoUsers } from './auth/demo-users.service.js';
import { loadDemoConfig } from './config/demo-config.js';
import { DemoModule } from './demo.module.js';

/**
 * `npm run rewrap -w @keyward/demo`: re-wraps every vault data key with the newest
 * key-encryption key in KEYWARD_VAULT_KEYS and prints the counts. Safe while the app runs.
 */
installStdioRedaction();
const config = loadDemoConfig();
const app = await NestFactory.createApplicationContext(DemoModule.register(config, await DemoUsers.create(new Map())), { logger: new KeywardLogger() });
const report = await app.get(Vault).rewrapAll();
console.log(JSON.stringify(report));
await app.close();
process.exit(report.failed > 0 ? 1 : 0);
