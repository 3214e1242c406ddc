/**
 * Entry point: `node dist/src/main.js`. Reads the environment (see {@link loadUpstreamConfig}),
 * starts the demo upstream and stops it on SIGINT/SIGTERM. Never prints key values.
 */
import { ConfigError, loadUpstreamConfig } from './config.js';
import { startUpstream } from './upstream.server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadUpstreamConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`demo-upstream: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  for (const name of config.generated) {
    console.log(`demo-upstream: ${name} is not set; generated a random value for this run (not printed)`);
  }

  let handle;
  try {
    handle = await startUpstream({
      port: config.port,
      host: config.host,
      serverKeys: config.serverKeys,
      adminToken: config.adminToken,
      accessTokens: config.accessTokens,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(`demo-upstream: cannot listen on ${config.host}:${config.port}${code ? ` (${code})` : ''}`);
    process.exit(1);
  }
  console.log(`demo-upstream listening on ${handle.url} (server keys: ${handle.serverKeyIds.join(', ')}; access tokens from ${config.accessTokens.issuer} for ${config.accessTokens.audience})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(1); // second signal: do not wait
    }
    stopping = true;
    console.log(`demo-upstream: ${signal} received, closing`);
    handle.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(() => {
  console.error('demo-upstream: failed to start');
  process.exit(1);
});
