// `npm start`: builds, then runs the demo upstream API, the demo identity provider and the
// demo app together. Ctrl-C stops all three. Development secrets (the upstream's keys, the
// identity provider's client secrets) are generated for this run and handed to the processes
// through their environment; they are never printed. With DEMO_IDP_ISSUER set (another
// OpenID provider), or in production, the demo identity provider is not started.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), 'packages/nest', 'apps/demo-idp', 'apps/demo-upstream', 'apps/demo'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const production = process.env.NODE_ENV === 'production';
const env = { ...process.env };
env.HOST ||= '127.0.0.1';
env.PORT ||= '3000';
env.UPSTREAM_PORT ||= '4000';
env.DEMO_IDP_PORT ||= '4100';
env.KEYWARD_DATA_DIR ||= join(root, '.data');
const withIdp = !production && !env.DEMO_IDP_ISSUER;
if (!production) {
  env.DEMO_UPSTREAM_KEY ||= `dk_server_${randomBytes(24).toString('base64url')}`;
  env.DEMO_UPSTREAM_ADMIN_TOKEN ||= randomBytes(32).toString('base64url');
}
if (withIdp) {
  // The app's two clients at the demo identity provider (sign-in and the demo-oauth connection).
  env.DEMO_IDP_SIGNIN_CLIENT_ID ||= 'keyward-demo';
  env.DEMO_IDP_CONNECT_CLIENT_ID ||= 'keyward-demo-oauth';
  if (env.DEMO_IDP_SIGNIN_CLIENT_AUTH_METHOD !== 'private_key_jwt') env.DEMO_IDP_SIGNIN_CLIENT_SECRET ||= randomBytes(32).toString('base64url');
  if (env.DEMO_IDP_CONNECT_CLIENT_AUTH_METHOD !== 'private_key_jwt') env.DEMO_IDP_CONNECT_CLIENT_SECRET ||= randomBytes(32).toString('base64url');
}
const loopback = (h) => h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
// The identity provider binds loopback only; its issuer is where the app and the upstream find it.
const idpHost = loopback(env.HOST) ? env.HOST : '127.0.0.1';
const idpUrl = `http://${idpHost.includes(':') ? `[${idpHost}]` : idpHost}:${env.DEMO_IDP_PORT}`;
if (withIdp && idpHost !== env.HOST) env.DEMO_IDP_ISSUER = idpUrl; // the app and upstream would otherwise look on HOST

const children = [];
let stopping = false;
function run(name, script, extraEnv = {}) {
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, script)], { cwd: root, env: { ...env, ...extraEnv }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${name} exited (${signal ?? code}); stopping.`);
      stop(code ?? 1);
    }
  });
  children.push(child);
}

function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

/** Polls `url` until it answers 2xx; false when stopping or after `ms`. */
async function ready(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const url = `http://${env.HOST}:${env.PORT}`;
(async () => {
  run('demo-upstream', 'apps/demo-upstream/dist/src/main.js');
  if (withIdp) {
    run('demo-idp', 'apps/demo-idp/dist/src/main.js', { HOST: idpHost });
    // The app may read the provider's discovery document at start: start it once the provider answers.
    if (!(await ready(`${idpUrl}/.well-known/openid-configuration`, 30_000))) {
      if (!stopping) {
        console.error('[start] the demo identity provider did not become ready; stopping.');
        stop(1);
      }
      return;
    }
  }
  run('demo', 'apps/demo/dist/src/main.js');
  if (await ready(`${url}/healthz`, 60_000)) {
    console.log(`\n  Keyward demo ready: ${url}`);
    if (!production) console.log('  Demo users: alice / alice-password, bob / bob-password');
    console.log(`  Demo upstream API: http://${env.HOST}:${env.UPSTREAM_PORT}`);
    console.log(withIdp ? `  Demo identity provider: ${idpUrl}` : env.DEMO_IDP_ISSUER ? `  Identity provider: ${env.DEMO_IDP_ISSUER} (DEMO_IDP_ISSUER)` : '  Identity provider: none (set DEMO_IDP_ISSUER)');
    console.log('  Ctrl-C stops them all.\n');
  }
})();
