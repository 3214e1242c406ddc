// What Keyward's own code costs to hand the proxy a connected account's access token (issue 24,
// rows 3o/3ou), measured in-process without HTTP, Redis or the load generator, so two builds can
// be told apart on a busy machine. Per call, as a proxied request does: a fresh copy of the
// session record (the request's own HGETALL), then `OAuthTokenProvider.acquire`; beside it the
// sealed minted key of row 3v (`MintedKeyProvider.acquire`). Token shapes:
//   opaque  43-character access and refresh tokens, no ID token (the bench's provider, scope api:read)
//   oidc    the same plus a 1.1 KB signed ID token (an OpenID Connect sign-in or an `openid` scope)
//   jwt     a 1.2 KB JWT access token, a 43-character refresh token and the ID token (many SaaS providers)
// `bind: 'user'` rows read the user's entries from the store (a MemoryStore here: no round trip).
//   node bench/src/probe/oauth-acquire.mjs [<base build>/dist/src/index.js] [--calls N] [--rounds N]
// Each build runs in processes of its own (so neither shares the other's JIT state), the builds'
// processes alternating, `--rounds` of each; prints the median µs per call of each case.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' }, child: { type: 'string' } } });
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const THIS = join(root, 'packages/nest/dist/src/index.js');

const b64 = (n) => randomBytes(n).toString('base64url');
const jwt = (bytes) => `eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.${b64(Math.floor(bytes * 0.55))}.${b64(256)}`;
const SHAPES = {
  opaque: () => ({ accessToken: b64(32), refreshToken: b64(32), scope: 'api:read' }),
  oidc: () => ({ accessToken: b64(32), refreshToken: b64(32), scope: 'openid api:read', idToken: jwt(1100) }),
  jwt: () => ({ accessToken: jwt(1200), refreshToken: b64(32), scope: 'openid api:read', idToken: jwt(1100) }),
};

const client = { refresh: async () => { throw new Error('not in this probe'); }, revoke: async () => true };

async function setup(k, kind, shape) {
  const store = new k.MemoryStore();
  const vault = new k.Vault(new k.KeyRing(new Map([['k1', randomBytes(32)]])), store);
  const now = Date.now();
  const key = b64(32);
  const record = { key, handle: key.slice(0, 22), userId: `user-${b64(6)}`, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 7_200_000, version: 1, data: {} };
  await store.create(record);
  let provider;
  if (kind === 'minted') {
    provider = new k.MintedKeyProvider({ issuer: { mint: async () => ({ id: b64(9), key: `mk_${b64(24)}` }), revoke: async () => undefined } });
    await provider.acquire({ name: 'up', session: record, vault, now });
  } else {
    provider = new k.OAuthTokenProvider({ client, store, bind: kind === 'oauth-user' ? 'user' : 'session' });
    await provider.save(vault, record, 'up', { ...SHAPES[shape](), expiresAt: now + 3_600_000 }, now);
  }
  return { provider, vault, record };
}

async function time({ provider, vault, record }) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    // Each request has the record as its own HGETALL decoded it.
    const session = { ...record, data: { ...record.data } };
    const secret = await provider.acquire({ name: 'up', session, vault, now: Date.now() });
    if (secret.reveal().length < 8) throw new Error('no token');
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / CALLS;
}

const cases = [['minted (3v)', 'minted', '-'], ...Object.keys(SHAPES).flatMap((s) => [[`oauth session, ${s}`, 'oauth', s], [`oauth user, ${s}`, 'oauth-user', s]])];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (values.child) {
  // One process, one build: every case warmed up, then timed 3 times (median), printed as JSON.
  const k = await import(pathToFileURL(values.child).href);
  const states = [];
  for (const [label, kind, shape] of cases) states.push([label, await setup(k, kind, shape)]);
  for (const [, st] of states) await time(st);
  const out = {};
  for (const [label, st] of states) out[label] = median([await time(st), await time(st), await time(st)]);
  console.log(JSON.stringify(out));
} else {
  const builds = [['this build', THIS]];
  if (positionals[0]) builds.unshift(['base', resolve(positionals[0])]);
  const samples = new Map(builds.map(([b]) => [b, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [b, dist] of r % 2 ? [...builds].reverse() : builds) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dist, '--calls', String(CALLS)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(child.stderr);
      samples.get(b).push(JSON.parse(child.stdout));
    }
  }
  const head = builds.length > 1 ? '| case | base µs/call | this build µs/call | change |\n| --- | --- | --- | --- |' : '| case | µs/call |\n| --- | --- |';
  console.log(`${CALLS} calls per case x 3 per process, ${ROUNDS} processes per build, median; node ${process.version}\n\n${head}`);
  for (const [label] of cases) {
    const m = builds.map(([b]) => median(samples.get(b).map((x) => x[label])));
    console.log(builds.length > 1 ? `| ${label} | ${m[0].toFixed(2)} | ${m[1].toFixed(2)} | ${(((m[1] - m[0]) / m[0]) * 100).toFixed(0)}% |` : `| ${label} | ${m[0].toFixed(2)} |`);
  }
}
