// Cost of the redaction registry (LiveSecrets, packages/nest/src/redaction/live-secrets.ts)
// as it fills with live minted keys: heap it takes, time to scrub a log line, and how many
// of the keys are still scrubbed once all are registered (its default bounds: 20,000
// entries and 32 MiB of encoded forms). Run with --expose-gc:
//   node --expose-gc bench/src/probe/secrets.mjs [N]   prints JSON
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const { LiveSecrets } = await import(pathToFileURL(join(root, 'packages/nest/dist/src/redaction/live-secrets.js')).href);
const N = Number(process.argv[2] ?? 20_000);

// A request log line as KeywardLogger writes it (pino JSON), and a 2 KB JSON body line.
const line = '{"level":30,"time":"2026-11-27T10:00:00.000Z","pid":1234,"context":"KeywardHttp","msg":"GET /api/proxy/up/items 200 3.1ms id=8d0c6f0e-8a59-4b36-9f0e-9d5b9d4f1c2a session=Qm9vX2Jhcl9iYXo"}';
const body = JSON.stringify({ items: Array.from({ length: 24 }, (_, i) => ({ id: i, name: `item ${i}`, note: 'lorem ipsum dolor sit amet' })) }).slice(0, 2048);

function heap() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function timeScrub(reg, text) {
  for (let i = 0; i < 2000; i++) reg.scrub(text);
  const reps = 20_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) reg.scrub(text);
  return Number(process.hrtime.bigint() - t) / 1000 / reps;
}

const rows = [];
// Keys of 35 characters (mk_ + 24 random bytes) and, last, of 67 (mk_ + 48 bytes, the size of
// many providers' keys): the bytes bound counts every encoded form, so longer keys fill it sooner.
for (const [n, bytes] of [...new Set([0, 1000, N])].map((n) => [n, 24]).concat([[N, 48]])) {
  const h0 = heap();
  const reg = new LiveSecrets();
  const keys = Array.from({ length: n }, () => `mk_${randomBytes(bytes).toString('base64url')}`);
  const t = process.hrtime.bigint();
  for (const k of keys) reg.add(k);
  const addUs = n ? Number(process.hrtime.bigint() - t) / 1000 / n : 0;
  const h1 = heap();
  const stillScrubbed = keys.filter((k) => reg.contains(`x ${k} y`)).length;
  const firstLost = keys.findIndex((k) => !reg.contains(`x ${k} y`));
  rows.push({
    n,
    keyChars: 3 + Math.ceil((bytes * 4) / 3),
    heapMiB: (h1 - h0 - keys.length * 0) / 1048576,
    addUs,
    lineUs: timeScrub(reg, line),
    bodyUs: timeScrub(reg, body),
    hitUs: n ? timeScrub(reg, `${line} key=${keys[keys.length - 1]}`) : NaN,
    stillScrubbed,
    firstLost,
    stats: reg.stats(),
  });
  keys.length = 0;
}
console.log(JSON.stringify({ lineChars: line.length, bodyChars: body.length, rows }));
