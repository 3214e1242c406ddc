/**
 * Entry point: `node dist/src/main.js`. Reads the environment (see {@link loadIdpConfig}),
 * starts the demo identity provider and stops it on SIGINT/SIGTERM. Never prints a secret,
 * a key or a token.
 */
import { ConfigError, loadIdpConfig } from './config.js';
import { startIdp } from './idp.server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadIdpConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`demo-idp: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  for (const name of config.generated) {
    console.log(`demo-idp: ${name} is not set; generated a random value for this run (not printed)`);
  }
  let handle;
  try {
    handle = await startIdp({
      port: config.port,
      host: config.host,
      users: config.users,
      adminToken: config.adminToken,
      clients: config.clients,
      upstreamAudience: config.upstreamAudience,
      upstreamClients: [config.clients[1]!.clientId],
      accessTokenTtlS: config.accessTokenTtlS,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(`demo-idp: cannot listen on ${config.host}:${config.port}${code ? ` (${code})` : ''}`);
    process.exit(1);
  }
  console.log(`demo-idp listening on ${handle.issuer} (clients: ${config.clients.map((c) => c.clientId).join(', ')}; upstream audience ${handle.upstreamAudience})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`demo-idp: ${signal} received, closing`);
    handle.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(() => {
  console.error('demo-idp: failed to start');
  process.exit(1);
});
