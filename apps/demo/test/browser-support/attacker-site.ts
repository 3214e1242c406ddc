import { createServer, type IncomingMessage, type Server } from 'node:http';

/** What the attacker page recorded about one attempt. */
export interface AttemptResult {
  kind: 'fetch' | 'img' | 'script' | 'form';
  target: string;
  /** fetch: 'rejected' | 'resolved'; img/script: 'error' | 'load'; form: 'submitted'. */
  outcome: string;
  type?: string;
  status?: number;
  body?: string;
  error?: string;
}

/** The attempts the page makes; the test asserts on each by name. */
export const ATTEMPTS = {
  fetches: [
    { name: 'fetch proxy (credentials: include)', path: '/api/proxy/demo/echo', init: { credentials: 'include' } },
    { name: 'fetch reflecting proxy (credentials: include)', path: '/api/proxy/demo/echo?reflect=1', init: { credentials: 'include' } },
    { name: 'fetch proxy with X-CSRF (preflighted)', path: '/api/proxy/demo/echo', init: { credentials: 'include', headers: { 'X-CSRF': '1' } } },
    { name: 'fetch keys (credentials: include)', path: '/api/keys', init: { credentials: 'include' } },
    { name: 'fetch session (credentials: include)', path: '/api/auth/session', init: { credentials: 'include' } },
    { name: 'fetch proxy (no-cors)', path: '/api/proxy/demo/echo', init: { credentials: 'include', mode: 'no-cors' } },
    { name: 'fetch keys (no-cors)', path: '/api/keys', init: { credentials: 'include', mode: 'no-cors' } },
    { name: 'fetch POST logout-all (no-cors)', path: '/api/auth/logout-all', init: { method: 'POST', credentials: 'include', mode: 'no-cors' } },
    {
      name: 'fetch PUT key with X-CSRF (preflighted)',
      path: '/api/keys/demo-byok',
      init: { method: 'PUT', credentials: 'include', headers: { 'X-CSRF': '1', 'Content-Type': 'application/json' }, body: '{"key":"attacker-key-via-fetch"}' },
    },
  ],
  inclusions: [
    { kind: 'img', path: '/api/proxy/demo/echo' },
    { kind: 'img', path: '/api/keys' },
    { kind: 'script', path: '/api/proxy/demo/echo?reflect=1' },
    { kind: 'script', path: '/api/keys' },
  ],
  // Forms can only GET/POST; `text/plain` lets a form body look like JSON (the classic trick).
  forms: [
    { name: 'form POST logout-all', path: '/api/auth/logout-all', enctype: 'application/x-www-form-urlencoded', field: ['x', '1'] },
    { name: 'form POST key (text/plain JSON)', path: '/api/keys/demo-byok', enctype: 'text/plain', field: ['{"key":"attacker-key-via-form","x":"', '"}'] },
    { name: 'form POST proxy', path: '/api/proxy/demo/echo', enctype: 'application/x-www-form-urlencoded', field: ['x', '1'] },
    { name: 'form POST login as the attacker (login CSRF)', path: '/api/auth/login', enctype: 'text/plain', field: ['{"username":"bob","password":"bob-password","x":"', '"}'] },
  ],
} as const;

function attackerPage(appOrigin: string): string {
  const config = JSON.stringify({ app: appOrigin, ...ATTEMPTS }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Totally harmless page</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}iframe{width:18rem;height:5rem;border:1px solid #ccc}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}</style>
</head><body>
<h1>Win a prize!</h1>
<p>This page, on another site, tries to use the visitor's Keyward session.</p>
<div id="frames"></div>
<h2>What this page learned</h2>
<pre id="log">running…</pre>
<script>
const cfg = ${config};
const results = [];
window.__attack = results;
function log() {
  document.getElementById('log').textContent = results.map((r) =>
    r.kind.padEnd(7) + r.target.padEnd(48) + r.outcome + (r.error ? ' (' + r.error + ')' : '') + (r.type ? ' ' + r.type + ' ' + r.status + ' ' + JSON.stringify(r.body) : '')).join('\\n');
}
async function attempt(a) {
  try {
    const res = await fetch(cfg.app + a.path, a.init);
    let body = '';
    try { body = await res.text(); } catch (e) { body = 'unreadable: ' + e; }
    results.push({ kind: 'fetch', target: a.name, outcome: 'resolved', type: res.type, status: res.status, body });
  } catch (e) {
    results.push({ kind: 'fetch', target: a.name, outcome: 'rejected', error: String(e) });
  }
}
function include(a) {
  return new Promise((resolve) => {
    const el = document.createElement(a.kind);
    const done = (outcome) => { results.push({ kind: a.kind, target: a.path, outcome }); resolve(); };
    el.onload = () => done('load');
    el.onerror = () => done('error');
    el.src = cfg.app + a.path;
    document.body.append(el);
  });
}
function submit(f, i) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = 'sink' + i;
    frame.title = f.name;
    document.getElementById('frames').append(frame);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = cfg.app + f.path;
    form.enctype = f.enctype;
    form.target = frame.name;
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = f.field[0];
    input.value = f.field[1];
    form.append(input);
    document.body.append(form);
    let settled = false;
    const done = () => { if (!settled) { settled = true; results.push({ kind: 'form', target: f.name, outcome: 'submitted' }); resolve(); } };
    frame.addEventListener('load', done);
    setTimeout(done, 3000);
    form.submit();
  });
}
(async () => {
  for (const a of cfg.fetches) await attempt(a);
  await Promise.all(cfg.inclusions.map(include));
  await Promise.all(cfg.forms.map(submit));
  log();
  window.__attackDone = true;
})();
</script>
</body></html>`;
}

/** A second site (another port, reached as http://localhost:<port>) that serves the attacker page. */
export class AttackerSite {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** Every request the attacker's server received (method and URL). */
    readonly requests: string[],
  ) {}

  static async start(port: number, appOrigin: string): Promise<AttackerSite> {
    const html = attackerPage(appOrigin);
    const requests: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === '/' || req.url?.startsWith('/?')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(html);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return new AttackerSite(server, `http://localhost:${port}/`, requests);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
