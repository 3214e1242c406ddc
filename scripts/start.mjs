// `npm start`: builds, then runs the demo upstream API and the demo app together.
// Ctrl-C stops both. Development keys for the upstream are generated for this run and
// handed to both processes through their environment; they are never printed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), 'packages/nest', 'apps/demo-upstream', 'apps/demo'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const production = process.env.NODE_ENV === 'production';
const env = { ...process.env };
env.HOST ||= '127.0.0.1';
env.PORT ||= '3000';
env.UPSTREAM_PORT ||= '4000';
env.KEYWARD_DATA_DIR ||= join(root, '.data');
if (!production) {
  env.DEMO_UPSTREAM_KEY ||= `dk_server_${randomBytes(24).toString('base64url')}`;
  env.DEMO_UPSTREAM_ADMIN_TOKEN ||= randomBytes(32).toString('base64url');
}

const children = [];
let stopping = false;
function run(name, script) {
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, script)], { cwd: root, env, stdio: 'inherit' });
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

run('demo-upstream', 'apps/demo-upstream/dist/src/main.js');
run('demo', 'apps/demo/dist/src/main.js');

const url = `http://${env.HOST}:${env.PORT}`;
const deadline = Date.now() + 60_000;
(async () => {
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) {
        console.log(`\n  Keyward demo ready: ${url}`);
        if (!production) console.log('  Demo users: alice / alice-password, bob / bob-password');
        console.log('  Demo upstream API: http://' + env.HOST + ':' + env.UPSTREAM_PORT + '\n  Ctrl-C stops both.\n');
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
})();
