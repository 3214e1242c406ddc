// Which files and folders of @keyward/nest one proxied call runs through, measured: a small
// Express app with Keyward (memory store, a server key, one proxy service on a local
// upstream) answers a few warm-up calls, then V8's precise coverage (call counts) is reset,
// one more proxied call is made, and every function of packages/nest/dist/src that ran
// during it is listed by its source file. Build first: node scripts/build.mjs packages/core packages/nest
//   node scripts/proxied-path.mjs [dist/src/index.js of another build] [--json]
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const entry = resolve(root, args.find((a) => !a.startsWith('--')) ?? 'packages/nest/dist/src/index.js');
const distSrc = dirname(entry);
const asJson = args.includes('--json');

const { Module } = await import(pathToFileURL(join(root, 'node_modules/@nestjs/common/index.js')).href);
const { NestFactory } = await import(pathToFileURL(join(root, 'node_modules/@nestjs/core/index.js')).href);
const kw = await import(pathToFileURL(entry).href);

const apiKey = `sk_path_${randomBytes(24).toString('base64url')}`;
const upstream = createServer((req, res) => {
  req.resume();
  res.writeHead(req.headers['x-api-key'] === apiKey ? 200 : 401, { 'content-type': 'application/json' }).end('{"ok":true}');
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

class AppModule {}
Module({
  imports: [
    kw.KeywardModule.forRoot({
      session: { secrets: [randomBytes(32).toString('base64url')], store: new kw.MemoryStore(), sweepIntervalMs: 0 },
      vault: { keys: [`k1:${randomBytes(32).toString('base64')}`] },
      credentials: { up: new kw.ServerKeyProvider({ keys: [apiKey] }) },
      proxy: { services: { up: { baseUrl: `${upstreamUrl}/v1/`, credential: 'up', key: { header: 'x-api-key' }, allowHttpToLoopback: true } } },
    }),
  ],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
const engine = app.get(kw.SessionEngine);
const issued = await engine.create({ id: 'alice' });
const headers = { cookie: `${engine.options.cookie.name}=${issued.signedValue}`, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' };
const call = async () => {
  const res = await fetch(`${base}/api/proxy/up/echo?x=1`, { headers });
  await res.text();
  if (res.status !== 200) throw new Error(`proxied call answered ${res.status}`);
};

for (let i = 0; i < 5; i++) await call();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
await session.post('Profiler.takePreciseCoverage'); // resets the counters
await call();
const { result } = await session.post('Profiler.takePreciseCoverage');
await session.post('Profiler.stopPreciseCoverage');
session.disconnect();
await app.close();
upstream.close();

const prefix = pathToFileURL(distSrc).href + '/';
const ran = result
  .filter((s) => s.url.startsWith(prefix))
  .map((s) => ({ file: s.url.slice(prefix.length).replace(/\.js$/, '.ts'), functions: s.functions.filter((f) => f.ranges[0].count > 0).map((f) => f.functionName || '(anonymous)') }))
  .filter((s) => s.functions.length > 0)
  .sort((a, b) => a.file.localeCompare(b.file));
const folders = [...new Set(ran.map((s) => (s.file.includes('/') ? `${s.file.split('/')[0]}/` : s.file)))];
if (asJson) console.log(JSON.stringify({ files: ran, folders }, null, 2));
else {
  console.log(`one proxied call (${relative(root, entry)}): ${ran.length} files in ${folders.length} folders/root files`);
  for (const s of ran) console.log(`  ${s.file.padEnd(44)} ${s.functions.join(', ')}`);
}
