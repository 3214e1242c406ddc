// Load generation on loopback: wrk (Debian) when present, else autocannon in a child
// process. One call = one timed run; returns req/s, p50, p99 (ms), requests, errors.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './processes.mjs';

const AUTOCANNON_CHILD = fileURLToPath(new URL('./autocannon-child.mjs', import.meta.url));

export async function detectTool(preferred) {
  if (preferred !== 'autocannon') {
    const wrk = await run('wrk', ['-v']);
    const line = `${wrk.stdout}${wrk.stderr}`.split('\n')[0].trim();
    if (/^wrk /.test(line)) return { name: 'wrk', version: line.replace(/ Copyright.*$/, '') };
    if (preferred === 'wrk') throw new Error('wrk is not installed (apt-get install -y wrk)');
  }
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = require('autocannon/package.json');
  return { name: 'autocannon', version: `autocannon ${pkg.version}` };
}

function toMs(value, unit) {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 'ms') return n;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return NaN;
}

/** Parses `wrk --latency` output. */
export function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const requests = num(/^\s+(\d+) requests in/m);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps: num(/^Requests\/sec:\s+([\d.]+)/m), p50: pct(50), p99: pct(99), requests, errors };
}

/**
 * One load run. `headers` is an object; `connections` and `seconds` as given. `script`
 * (wrk only): a Lua file, e.g. one that cycles through many session cookies
 * ({@link writeCookieScript}).
 */
export async function load(tool, { url, headers, connections, seconds, script }) {
  if (tool.name === 'wrk') {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
    if (script) args.push('-s', script);
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    args.push(url);
    const r = await run('wrk', args);
    if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr || r.stdout}`);
    const parsed = parseWrk(r.stdout);
    if (!Number.isFinite(parsed.rps)) throw new Error(`could not parse wrk output:\n${r.stdout}`);
    return parsed;
  }
  const r = await run(process.execPath, [AUTOCANNON_CHILD], { input: JSON.stringify({ url, headers, connections, duration: seconds }) });
  if (r.code !== 0) throw new Error(`autocannon failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Writes a wrk Lua script that sends each request with the next cookie of the list (round robin). */
export function writeCookieScript(file, cookies) {
  const list = cookies.map((c) => `"${c.replace(/[^A-Za-z0-9_.=-]/g, '')}"`).join(',\n');
  writeFileSync(
    file,
    `local cookies = {\n${list}\n}\nlocal n = #cookies\nlocal i = 0\nrequest = function()\n  i = (i % n) + 1\n  wrk.headers["Cookie"] = cookies[i]\n  return wrk.format()\nend\n`,
  );
  return file;
}
