// What bench/run.mjs makes sure of before it starts anything: the install, the load
// generator, and a build of packages/nest (node built-ins only: nothing is installed yet).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildNest, nestDist, newestMtime } from '../harness/build.mjs';

/** A fresh clone has no node_modules: install as `npm start` and `npm test` do (exits on failure). */
export function ensureInstall(root) {
  if (spawnSync(process.execPath, [join(root, 'scripts/ensure-install.mjs')], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
}

/** Installs wrk from Debian when it is missing and wanted (autocannon is the fallback). */
export function ensureWrk(preferred, log) {
  if (preferred === 'autocannon') return;
  if (spawnSync('wrk', ['-v']).error === undefined) return;
  // Like scripts/test.sh: install the Debian package if we can (root or sudo).
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  log('wrk not found: installing the Debian package (apt-get install -y wrk)');
  const sh = (args) => spawnSync(args[0], args.slice(1), { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  const ok = sh([...sudo, 'apt-get', 'update', '-qq']) && sh([...sudo, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'wrk']);
  if (!ok) log('could not install wrk; falling back to autocannon');
}

/** Builds packages/nest unless --no-build (or, in a quick run, when dist/ is newer than src/); returns what happened, for the report. */
export function buildIfStale(root, { opt, quick }, log) {
  const dist = nestDist(root);
  const src = Math.max(newestMtime(join(root, 'packages/nest/src')), statSync(join(root, 'packages/nest/tsconfig.json')).mtimeMs);
  if (opt['no-build'] && existsSync(dist)) return 'not rebuilt (--no-build)';
  if (existsSync(dist) && statSync(dist).mtimeMs >= src && quick) return 'dist up to date';
  log('building packages/nest (node scripts/build.mjs packages/nest)');
  if (!buildNest(root)) {
    console.error('[bench] the build of packages/nest failed; fix it or pass --no-build to bench the existing dist/');
    process.exit(1);
  }
  return 'built';
}
