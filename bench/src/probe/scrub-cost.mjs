// What the echo scrubber costs on a large proxied answer (issue 23.2: escaped forms of a key).
// Scrubs the same answers with two builds of @keyward/nest and prints the median time of each
// and their ratio. Answers (10 MiB each, none containing the key, so every byte is searched):
//   plain-json  JSON without escapes (the common case)
//   php-json    JSON as PHP writes it: every '/' of its URLs as '\/' (an escape of a key character on every line)
//   html        an HTML page with '&amp;', '&quot;' and '&#39;' everywhere
//   pct-urls    lines of percent-encoded URLs ('%2F', '%3D', '%2B')
//   node bench/src/probe/scrub-cost.mjs [<base build>/dist/src/index.js] [MiB]
// Without a base, only this build (packages/nest/dist) is measured.
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const scrubOf = async (distIndex) => import(pathToFileURL(join(dirname(distIndex), 'proxy/scrub.js')).href);
const builds = [['this build', await scrubOf(join(root, 'packages/nest/dist/src/index.js'))]];
if (process.argv[2]) builds.unshift(['base', await scrubOf(resolve(process.argv[2]))]);
const MIB = Number(process.argv[3] ?? 10);

const key = `wJalrXUtnFEMI/K7MDENG+${randomBytes(18).toString('base64')}=`;
const fill = (line) => {
  const unit = Buffer.from(line);
  const out = Buffer.alloc(MIB * 1024 * 1024);
  for (let at = 0; at < out.length; at += unit.length) unit.copy(out, at);
  return out;
};
const bodies = {
  'plain-json': fill('{"id":12345,"name":"Widget","url":"https://cdn.example.com/a/b/c.png","tags":["x","y"]},\n'),
  'php-json': fill('{"id":12345,"name":"Widget","url":"https:\\/\\/cdn.example.com\\/a\\/b\\/c.png","tags":["x","y"]},\n'),
  html: fill('<p class="item">Tom &amp; Jerry said &quot;hi&quot; &#39;twice&#39; &lt;b&gt;</p>\n'),
  'pct-urls': fill('https%3A%2F%2Fcdn.example.com%2Fa%2Fb%3Fq%3Dx%2By%26z%3D1\n'),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const [name, body] of Object.entries(bodies)) {
  for (const [label, { secretForms, scrubBuffer }] of builds) {
    const forms = secretForms(key);
    scrubBuffer(body, forms); // warm-up
    const times = [];
    for (let i = 0; i < 7; i++) {
      // CPU time of this process (user + system), steadier than wall time on a shared machine.
      const t0 = process.cpuUsage();
      const out = scrubBuffer(body, forms);
      const t = process.cpuUsage(t0);
      times.push((t.user + t.system) / 1000);
      if (out.hits !== 0) throw new Error(`${label}: ${name}: unexpected hits`);
    }
    (results[name] ??= {})[label] = median(times);
  }
}
console.log(`scrubBuffer on ${MIB} MiB answers without the key, median of 7 (CPU ms):`);
for (const [name, r] of Object.entries(results)) {
  const cells = builds.map(([label]) => `${label} ${r[label].toFixed(1)}`);
  const ratio = builds.length === 2 ? `  ratio ${(r['this build'] / r.base).toFixed(2)}x` : '';
  console.log(`  ${name.padEnd(11)} ${cells.join('  ')}${ratio}`);
}
