// The facts about the machine and the software a bench/run.mjs report states: CPU, memory,
// load, Node, the versions of Nest, the session and Redis libraries, redis-server, the load
// generator, and the Keyward revision measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { detectTool } from '../harness/load.mjs';
import { run } from '../harness/processes.mjs';

/** The 1, 5 and 15 minute load averages, as text. */
export const loadAverage = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');

/** The installed version of a package, as `r` resolves it (else from the root node_modules; 'n/a'). */
function version(root, r, name) {
  try {
    return r(`${name}/package.json`).version;
  } catch {
    // packages whose `exports` hide package.json
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'n/a';
    }
  }
}

function keywardRevision(root, buildState) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/nest/src'], { cwd: root, encoding: 'utf8' }).trim();
    return `packages/nest at ${head}${dirty ? ' + uncommitted changes in packages/nest/src' : ''} (${buildState})`;
  } catch {
    return 'packages/nest (no git)';
  }
}

/** Picks the load generator (`preferred`: --tool) and gathers the machine facts; returns both. */
export async function machineFacts(root, buildState, preferred) {
  const req = createRequire(join(root, 'packages/nest/package.json'));
  const rootReq = createRequire(join(root, 'package.json'));
  const tool = await detectTool(preferred);
  const redisVersion = (await run('redis-server', ['--version'])).stdout.trim().replace(/ sha=.*$/, '');
  const machine = {
    nproc: (await run('nproc', [])).stdout.trim() || String(os.availableParallelism()),
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    loadStart: loadAverage(),
    node: process.version,
    nest: version(root, req, '@nestjs/core'),
    platformExpress: version(root, req, '@nestjs/platform-express'),
    platformFastify: version(root, req, '@nestjs/platform-fastify'),
    expressSession: version(root, rootReq, 'express-session'),
    connectRedis: version(root, rootReq, 'connect-redis'),
    nodeRedis: version(root, rootReq, 'redis'),
    undici: version(root, req, 'undici'),
    ioredis: version(root, req, 'ioredis'),
    redis: redisVersion,
    tool: tool.version,
    keyward: keywardRevision(root, buildState),
  };
  return { tool, machine };
}
