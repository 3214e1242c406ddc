// The demo page: one fetch wrapper that sends X-CSRF: 1 on every call.
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'X-CSRF': '1', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw Object.assign(new Error((data && data.error) || res.statusText), { status: res.status, data });
  return data;
}

function status(text) {
  $('status').textContent = text;
}

async function refresh() {
  try {
    const s = await api('GET', '/api/auth/session');
    $('who').textContent = s.user.name;
    $('idle').textContent = new Date(s.expiresAt).toLocaleTimeString();
    $('absolute').textContent = new Date(s.absoluteExpiresAt).toLocaleTimeString();
    const list = await api('GET', '/api/auth/sessions');
    $('sessions').replaceChildren(...list.map((x) => {
      const li = document.createElement('li');
      li.textContent = `${x.current ? 'this session' : 'session'} since ${new Date(x.createdAt).toLocaleString()} `;
      if (!x.current) {
        const b = document.createElement('button');
        b.textContent = 'Revoke';
        b.addEventListener('click', () => api('DELETE', `/api/auth/sessions/${encodeURIComponent(x.id)}`).then(refresh, (e) => status(e.message)));
        li.append(b);
      }
      return li;
    }));
    $('login-panel').hidden = true;
    $('session-panel').hidden = false;
  } catch {
    $('login-panel').hidden = false;
    $('session-panel').hidden = true;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await api('POST', '/api/auth/login', { username: f.get('username'), password: f.get('password') });
      status('Logged in.');
    } catch (e) {
      status(e.message);
    }
    refresh();
  });
  $('logout').addEventListener('click', () => api('POST', '/api/auth/logout').then(() => status('Logged out.'), (e) => status(e.message)).then(refresh));
  $('logout-all').addEventListener('click', () => api('POST', '/api/auth/logout-all').then(() => status('Logged out everywhere.'), (e) => status(e.message)).then(refresh));
  refresh();
});
