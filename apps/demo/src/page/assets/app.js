// The Keyward demo page. Plain JavaScript, no dependencies, loaded as a module (strict,
// nothing on `window`) under a strict CSP (script-src 'self', style-src 'self': no inline
// script, no inline style).
//
// What it never does: read or write a cookie, keep anything in localStorage,
// sessionStorage or IndexedDB, or hold a key after it has been sent. The only secret it
// ever touches is the key the user types into the write-only field, which is cleared as
// soon as it is sent. Every request goes through @keyward/client (imported below from this
// origin); the page never calls fetch itself.

import { createKeywardClient } from '/assets/keyward-client/index.js';
import { createOidcPanel } from '/oidc-panel.js';

const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

// ---------------------------------------------------------------------- the API client

/**
 * The page's one way to call the server: @keyward/client, served by the app from its
 * published build. It sends `X-CSRF: 1` on every request, sends the cookie to this origin
 * only, never carries a token, and turns refusals into typed errors with Keyward's codes.
 * The first request that finds the session ended (401 with a session code) calls
 * onSessionEnded once, whichever request it was; the page then switches to the signed-out
 * view. A 429/503 on GET/PUT/DELETE is retried once when its Retry-After is short; longer
 * waits are shown to the user. POST (login, logout) is never retried.
 */
const kw = createKeywardClient({
  onSessionEnded: () => {
    if (state.signedIn) signedOut(endedReason());
  },
  retry: { attempts: 1, maxDelayMs: 2000 },
});

// ---------------------------------------------------------------------- page state

const state = {
  signedIn: false,
  session: null, // { user, expiresAt: ms, absoluteExpiresAt: ms }
  timer: 0,
  expiryCheck: 0,
  hasKey: false,
};

function setStatus(text) {
  byId('status').textContent = text || '';
}

function showError(id, err) {
  const el = byId(id);
  if (!err) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.replaceChildren(h('span', { class: 'code', 'data-testid': 'error-code' }, err.code || 'ERROR'), ' ', err.message,
    retryNote(err));
  el.dataset.code = err.code || '';
  if (err.retryAfterSeconds !== undefined) el.dataset.retryAfter = String(err.retryAfterSeconds);
  else delete el.dataset.retryAfter;
  el.hidden = false;
}

/** "Try again in 5 min." for an error whose answer carried Retry-After, else nothing. */
function retryNote(err) {
  const s = err && err.retryAfterSeconds;
  if (s === undefined || s === null) return null;
  const text = s >= 90 ? `${Math.ceil(s / 60)} min` : `${s} s`;
  return h('span', { class: 'retry-after', 'data-testid': 'retry-after', 'data-seconds': String(s) }, ` Try again in ${text}.`);
}

/** Tiny element builder: h('li', { class: 'x', 'data-testid': 'y' }, 'text', child). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function busy(button, fn) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await fn();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

const oidc = createOidcPanel({ kw, byId, h });

// ---------------------------------------------------------------------- time

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

function countdown(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.ceil(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${pad(mm)}:${pad(ss)}` : `${pad(mm)}:${pad(ss)}`;
}

function setTime(el, ms) {
  el.dateTime = new Date(ms).toISOString();
  el.textContent = timeFmt.format(ms);
}

function tick() {
  const s = state.session;
  if (!s) return;
  const now = Date.now();
  const idleLeft = s.expiresAt - now;
  const absLeft = s.absoluteExpiresAt - now;
  const idle = byId('idle-countdown');
  const abs = byId('absolute-countdown');
  idle.textContent = countdown(idleLeft);
  abs.textContent = countdown(absLeft);
  idle.dataset.remainingMs = String(Math.max(0, idleLeft));
  abs.dataset.remainingMs = String(Math.max(0, absLeft));
  idle.classList.toggle('soon', idleLeft < 60_000);
  abs.classList.toggle('soon', absLeft < 60_000);
  // At expiry ask the server (it decides, not this clock): a short grace absorbs clock skew.
  // A 401 switches to the signed-out view (the client's onSessionEnded); other failures retry after a pause.
  if (Math.min(idleLeft, absLeft) <= 0 && !state.expiryCheck) {
    state.expiryCheck = setTimeout(() => {
      loadSession().then(
        () => (state.expiryCheck = 0),
        () => state.signedIn && (state.expiryCheck = setTimeout(() => (state.expiryCheck = 0), 5000)),
      );
    }, 400);
  }
}

// ---------------------------------------------------------------------- views

function showSignedIn() {
  state.signedIn = true;
  byId('signed-out-view').hidden = true;
  byId('app-panels').hidden = false;
  const badge = byId('auth-state');
  badge.dataset.state = 'signed-in';
  badge.replaceChildren('Signed in as ', h('strong', {}, state.session ? state.session.user : ''));
  if (!state.timer) state.timer = setInterval(tick, 250);
  tick();
}

const SIGNED_OUT_REASONS = {
  logout: 'You are logged out. Your session cookie was cleared and the session ended on the server.',
  'logout-all': 'You are logged out everywhere: every session of this account has ended.',
  ended: 'You have been signed out: this session was ended on the server (logged out elsewhere, revoked, or expired).',
  idle: 'Your session expired after a period of inactivity (idle timeout).',
  absolute: 'Your session reached its maximum lifetime (absolute timeout).',
};

/**
 * Why the server no longer knows this session, as far as the page can tell. The cookie's
 * Max-Age is whole seconds, so the browser may drop it up to a second before the expiry.
 */
function endedReason() {
  const s = state.session;
  const now = Date.now() + 1500;
  if (s && now >= s.absoluteExpiresAt) return 'absolute';
  if (s && now >= s.expiresAt) return 'idle';
  return 'ended';
}

/** Switches to the signed-out view; `reason` picks the notice (none on first load). */
function signedOut(reason) {
  const wasSignedIn = state.signedIn;
  state.signedIn = false;
  state.session = null;
  state.hasKey = false;
  clearInterval(state.timer);
  clearTimeout(state.expiryCheck);
  state.timer = 0;
  state.expiryCheck = 0;
  byId('app-panels').hidden = true;
  byId('signed-out-view').hidden = false;
  setStatus('');
  const badge = byId('auth-state');
  badge.dataset.state = 'signed-out';
  badge.textContent = 'Signed out';
  // Nothing of the old session stays on the page.
  byId('sessions').replaceChildren();
  byId('who').textContent = '';
  resetCallResult();
  byId('call-history').replaceChildren();
  renderKeys([]);
  renderConnections([]);
  oidc.clear();
  byId('oauth-result').dataset.state = 'empty';
  byId('oauth-result').replaceChildren(h('p', { class: 'hint' }, 'No call through the connection yet.'));
  const notice = byId('signed-out-notice');
  if (reason && SIGNED_OUT_REASONS[reason]) {
    notice.textContent = SIGNED_OUT_REASONS[reason];
    notice.dataset.reason = reason;
    notice.hidden = false;
  } else {
    notice.hidden = true;
    delete notice.dataset.reason;
  }
  if (wasSignedIn) byId('login-title').focus();
}

// ---------------------------------------------------------------------- session panel

/**
 * Reads the session with the client's probe (`?slide=false`): showing the time left, or
 * checking at expiry, never extends the session itself.
 */
async function loadSession() {
  const s = await kw.session();
  if (!s) throw new Error('No session.'); // the signed-out view is already up if there was one
  state.session = {
    user: s.user.name,
    expiresAt: Date.parse(s.expiresAt),
    absoluteExpiresAt: Date.parse(s.absoluteExpiresAt),
  };
  byId('who').textContent = s.user.name;
  const rotated = byId('rotated-at');
  if (s.rotatedAt) {
    const t = h('time', { 'data-testid': 'rotated-time' });
    setTime(t, Date.parse(s.rotatedAt));
    rotated.replaceChildren('at ', t);
  } else rotated.textContent = 'not since sign-in';
  setTime(byId('idle-at'), state.session.expiresAt);
  setTime(byId('absolute-at'), state.session.absoluteExpiresAt);
  return s;
}

async function loadSessions() {
  const list = await kw.get('/api/auth/sessions');
  list.sort((a, b) => Number(b.current) - Number(a.current) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
  byId('sessions-count').textContent = `(${list.length})`;
  byId('sessions').replaceChildren(...list.map((s) => {
    const started = dateTimeFmt.format(Date.parse(s.createdAt));
    const label = s.current ? 'This browser' : `Session ${s.id.slice(0, 6)}`;
    const meta = h('p', { class: 'session-meta' },
      'started ', h('time', { datetime: s.createdAt }, started),
      ' · last seen ', h('time', { datetime: s.lastSeenAt }, timeFmt.format(Date.parse(s.lastSeenAt))),
      s.expiresAt ? [' · idle expiry ', h('time', { datetime: s.expiresAt }, timeFmt.format(Date.parse(s.expiresAt)))] : []);
    const item = h('li', { class: s.current ? 'session current' : 'session', 'data-testid': 'session-item', 'data-session-id': s.id, 'data-current': String(s.current) },
      h('div', {}, h('p', { class: 'session-name' }, label, s.current ? h('span', { class: 'tag' }, 'current') : null), meta));
    if (!s.current) {
      const button = h('button', { type: 'button', class: 'danger small', 'data-testid': 'revoke-session', 'aria-label': `Revoke the session started ${started}` }, 'Revoke');
      button.addEventListener('click', () => busy(button, async () => {
        try {
          await kw.delete(`/api/auth/sessions/${encodeURIComponent(s.id)}`);
          setStatus('Session revoked: that browser is signed out.');
          await refreshAll();
        } catch (err) {
          if (state.signedIn) setStatus(`Could not revoke: ${err.message}`);
        }
      }));
      item.append(button);
    }
    return item;
  }));
}

// ---------------------------------------------------------------------- keys panel

function renderKeys(keys) {
  const mine = keys.find((k) => k.service === 'demo-byok');
  state.hasKey = !!mine;
  const mask = byId('byok-mask');
  mask.textContent = mine ? mine.masked : 'none';
  mask.dataset.state = mine ? 'stored' : 'none';
  mask.dataset.updatedAt = mine ? mine.updatedAt : '';
  byId('byok-updated').textContent = mine ? `saved ${dateTimeFmt.format(Date.parse(mine.updatedAt))}` : '';
  byId('byok-label').textContent = mine ? 'Replace the key' : 'Add a key';
  byId('byok-save').textContent = mine ? 'Replace key' : 'Save key';
  byId('byok-delete').hidden = !mine;
}

async function loadKeys() {
  renderKeys(await kw.get('/api/keys'));
}

// ---------------------------------------------------------------------- proxy calls

const CALL_LABELS = {
  demo: 'Server key',
  'demo-session': 'Per-session key',
  'demo-byok': 'My own key',
  reflect: 'Careless upstream',
};

const CALL_NOTES = {
  demo: "The app's own key for the upstream, attached by the proxy on the way out.",
  'demo-session': 'A key minted for this session at login, rotated on a schedule, revoked at logout and expiry.',
  'demo-byok': 'The key you stored above, decrypted on the server for this call only.',
  reflect: 'This upstream echoes back the key it received, as a careless API might. Keyward scrubs it from the response.',
};

function resetCallResult() {
  const box = byId('call-result');
  box.dataset.state = 'empty';
  box.replaceChildren(h('p', { class: 'hint' }, 'No call yet.'));
}

let callSeq = 0;

function renderCallResult(kind, path, outcome) {
  const box = byId('call-result');
  box.dataset.seq = String(++callSeq);
  box.dataset.call = kind;
  const title = h('p', { class: 'result-title' }, h('strong', {}, CALL_LABELS[kind]), ' ', h('code', {}, `GET ${path}`));
  const note = h('p', { class: 'hint' }, CALL_NOTES[kind]);
  if (outcome.ok) {
    const r = outcome.data || {};
    const rows = [
      ['Key used (id)', h('code', { 'data-testid': 'result-key-id' }, String(r.keyId ?? '–'))],
      ['Upstream path', h('code', {}, String(r.path ?? '–'))],
      ['Headers the upstream received', h('span', { class: 'header-names' }, (Array.isArray(r.headerNames) ? r.headerNames : []).map((n) => h('code', {}, String(n))))],
    ];
    if ('receivedKey' in r) {
      rows.push(['Key the upstream echoed back', h('span', {}, h('code', { class: 'redacted', 'data-testid': 'result-received-key' }, String(r.receivedKey)),
        ' ', h('span', { class: 'hint' }, 'scrubbed by Keyward before it reached this page'))]);
    }
    box.dataset.state = 'ok';
    box.replaceChildren(title, note, h('p', { class: 'pill ok' }, `${outcome.status} OK`),
      h('dl', { class: 'result-facts' }, rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))),
      h('details', {}, h('summary', {}, 'Raw response'), h('pre', { 'data-testid': 'result-raw' }, JSON.stringify(r, null, 2))));
  } else {
    const e = outcome.error;
    box.dataset.state = 'error';
    box.replaceChildren(title, note, h('p', { class: 'pill error' }, e.status ? `${e.status} error` : 'network error'),
      h('dl', { class: 'result-facts' },
        h('div', {}, h('dt', {}, 'Code'), h('dd', {}, h('code', { 'data-testid': 'result-error-code' }, e.code))),
        h('div', {}, h('dt', {}, 'Message'), h('dd', { 'data-testid': 'result-error-message' }, e.message)),
        e.retryAfterSeconds !== undefined ? h('div', {}, h('dt', {}, 'Retry after'), h('dd', { 'data-testid': 'result-retry-after' }, `${e.retryAfterSeconds} s`)) : null,
        e.requestId ? h('div', {}, h('dt', {}, 'Request id'), h('dd', {}, h('code', {}, e.requestId))) : null));
  }
  const history = byId('call-history');
  history.prepend(h('li', { class: outcome.ok ? 'is-ok' : 'is-error', 'data-testid': 'history-item' },
    h('time', { datetime: new Date().toISOString() }, timeFmt.format(Date.now())), ' ',
    h('span', {}, CALL_LABELS[kind]), ' ',
    outcome.ok ? h('code', {}, `key ${outcome.data && outcome.data.keyId}`) : h('code', {}, outcome.error.code)));
  while (history.children.length > 6) history.lastElementChild.remove();
}

async function call(button) {
  const kind = button.dataset.call;
  const path = button.dataset.path;
  await busy(button, async () => {
    let outcome;
    try {
      // Through Keyward's proxy: /api/proxy/<service><upstream path>; the key is attached on the server.
      const res = await kw.proxy(button.dataset.service, button.dataset.upstream, { headers: { Accept: 'application/json' } });
      outcome = { ok: true, status: res.status, data: await res.json() };
    } catch (error) {
      if (!state.signedIn) return; // 401: the signed-out view says why
      outcome = { ok: false, error };
    }
    renderCallResult(kind, path, outcome);
    setStatus(outcome.ok ? `${CALL_LABELS[kind]}: answered with key ${outcome.data && outcome.data.keyId}.` : `${CALL_LABELS[kind]}: ${outcome.error.code}.`);
    refreshSessionQuietly();
  });
}

// ---------------------------------------------------------------------- connected account (OAuth)

// The demo-oauth connection: the page starts it with a top-level navigation (the provider's
// sign-in page is another site), lists it (service, scopes, expiry: never a token), calls the
// upstream through it and disconnects it. The tokens never reach this page.
const OAUTH_SERVICE = 'demo-oauth';
let oauthEnabled = false;
let infoLoaded = Promise.resolve();

function renderConnections(list) {
  const ul = byId('connections');
  const mine = list.filter((c) => c.service === OAUTH_SERVICE);
  ul.dataset.count = String(mine.length);
  ul.replaceChildren(...(mine.length === 0
    ? [h('li', { class: 'hint', 'data-testid': 'connections-empty' }, 'Not connected.')]
    : mine.map((c) => h('li', { 'data-testid': 'connection', 'data-service': c.service },
      h('strong', {}, c.service), ' ',
      h('span', { class: 'hint' }, 'scopes '), h('code', { 'data-testid': 'connection-scopes' }, (c.scopes || []).join(' ') || '–'), ' ',
      h('span', { class: 'hint' }, c.expiresAt ? `access token expires ${dateTimeFmt.format(Date.parse(c.expiresAt))}` : 'no expiry given'),
      c.connectedAt ? h('span', { class: 'hint' }, `, connected ${dateTimeFmt.format(Date.parse(c.connectedAt))}`) : null))));
  byId('oauth-disconnect').hidden = mine.length === 0;
}

async function loadConnections() {
  if (!oauthEnabled) return;
  try {
    renderConnections(await kw.get('/api/connections'));
  } catch (err) {
    if (state.signedIn) setStatus(`Could not list connections: ${err.code}.`);
  }
}

function showOAuthAvailability(enabled) {
  oauthEnabled = enabled;
  byId('oauth-unavailable').hidden = enabled;
  byId('oauth-controls').hidden = !enabled;
}

function renderOAuthResult(outcome) {
  const box = byId('oauth-result');
  box.dataset.seq = String(++callSeq);
  if (outcome.ok) {
    const r = outcome.data || {};
    box.dataset.state = 'ok';
    box.replaceChildren(h('p', { class: 'pill ok' }, `${outcome.status} OK`),
      h('dl', { class: 'result-facts' },
        h('div', {}, h('dt', {}, 'How the upstream saw the call'), h('dd', {}, h('code', { 'data-testid': 'oauth-auth' }, String(r.auth ?? '–')))),
        h('div', {}, h('dt', {}, 'Token subject (sub)'), h('dd', {}, h('code', { 'data-testid': 'oauth-sub' }, String(r.sub ?? '–')))),
        h('div', {}, h('dt', {}, 'Headers the upstream received'), h('dd', { class: 'header-names' }, (Array.isArray(r.headerNames) ? r.headerNames : []).map((n) => h('code', {}, String(n)))))));
  } else {
    const e = outcome.error;
    box.dataset.state = 'error';
    const hint = e.code === 'KW_OAUTH_NOT_CONNECTED' || e.code === 'KW_OAUTH_RECONNECT' ? 'Connect the account (again) with the button above.' : '';
    box.replaceChildren(h('p', { class: 'pill error' }, e.status ? `${e.status} error` : 'network error'),
      h('dl', { class: 'result-facts' },
        h('div', {}, h('dt', {}, 'Code'), h('dd', {}, h('code', { 'data-testid': 'oauth-error-code' }, e.code))),
        h('div', {}, h('dt', {}, 'Message'), h('dd', {}, e.message, hint ? h('span', { class: 'hint' }, ` ${hint}`) : null))));
  }
}

async function onOAuthCall() {
  await busy(byId('oauth-call'), async () => {
    let outcome;
    try {
      const res = await kw.proxy(OAUTH_SERVICE, '/echo', { headers: { Accept: 'application/json' } });
      outcome = { ok: true, status: res.status, data: await res.json() };
    } catch (error) {
      if (!state.signedIn) return;
      outcome = { ok: false, error };
    }
    renderOAuthResult(outcome);
    setStatus(outcome.ok ? `Through the connection: the upstream saw ${outcome.data && outcome.data.auth} auth for ${outcome.data && outcome.data.sub}.` : `Through the connection: ${outcome.error.code}.`);
    await loadConnections();
    refreshSessionQuietly();
  });
}

async function onOAuthDisconnect() {
  await busy(byId('oauth-disconnect'), async () => {
    try {
      await kw.delete(`/api/connections/${OAUTH_SERVICE}`);
      await loadConnections();
      setStatus('Disconnected: the tokens were revoked at the identity provider.');
    } catch (err) {
      if (state.signedIn) setStatus(`Could not disconnect: ${err.code}.`);
    }
  });
}

// ---------------------------------------------------------------------- flows

// Every other request may slide the idle expiry, so the session is read last: the countdown
// then shows the expiry the server will apply. The read itself is the probe (slide=false).
async function refreshAll() {
  await infoLoaded;
  await Promise.all([loadSessions(), loadKeys(), loadConnections()]);
  await loadSession();
  await oidc.load();
  showSignedIn();
}

function refreshSessionQuietly() {
  if (!state.signedIn) return;
  loadSessions().then(loadSession).then(oidc.load).then(tick, () => {});
}

async function onLogin(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  showError('login-error', null);
  if (!username || !password) {
    showError('login-error', { code: 'MISSING_FIELDS', message: 'Enter a username and a password.' });
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  await busy(byId('login-submit'), async () => {
    try {
      const answer = await kw.post('/api/auth/login', { username, password });
      form.reset();
      showCapNotice(answer && Array.isArray(answer.endedSessions) ? answer.endedSessions : []);
      byId('signed-out-notice').hidden = true;
      await refreshAll();
      setStatus(`Signed in as ${state.session.user}.`);
      byId('session-title').focus();
    } catch (err) {
      form.elements.password.value = '';
      showError('login-error', err);
      form.elements.password.focus();
    }
  });
}

/** Says which older sessions this sign-in ended (the per-user session limit). */
function showCapNotice(ended) {
  const notice = byId('cap-notice');
  notice.hidden = ended.length === 0;
  if (ended.length === 0) return notice.replaceChildren();
  const started = ended.map((s) => timeFmt.format(Date.parse(s.createdAt))).join(', ');
  notice.dataset.count = String(ended.length);
  notice.textContent = `Signing in ended ${ended.length} older session${ended.length === 1 ? '' : 's'} of this account (started ${started}): the limit of sessions per user was reached.`;
}

async function onLogout(button, path, reason) {
  await busy(button, async () => {
    try {
      await kw.post(path);
      signedOut(reason); // its notice is an alert: announced without a status message
    } catch (err) {
      if (state.signedIn) setStatus(`Could not log out: ${err.message}`);
    }
  });
}

async function onSaveKey(ev) {
  ev.preventDefault();
  const input = byId('byok-key');
  showError('byok-error', null);
  if (!input.value) {
    showError('byok-error', { code: 'MISSING_KEY', message: 'Paste a key first.' });
    input.focus();
    return;
  }
  await busy(byId('byok-save'), async () => {
    const replacing = state.hasKey;
    // Hand the value over and forget it: the field is cleared before the request completes.
    const key = input.value;
    input.value = '';
    try {
      await kw.put('/api/keys/demo-byok', { key });
      await loadKeys();
      setStatus(replacing ? 'Key replaced. Only its mask is shown from now on.' : 'Key saved. Only its mask is shown from now on.');
    } catch (err) {
      if (state.signedIn) showError('byok-error', err);
    }
  });
}

async function onDeleteKey() {
  const button = byId('byok-delete');
  showError('byok-error', null);
  await busy(button, async () => {
    try {
      await kw.delete('/api/keys/demo-byok');
      await loadKeys();
      setStatus('Key deleted.');
      byId('byok-key').focus();
    } catch (err) {
      if (state.signedIn) showError('byok-error', err);
    }
  });
}

function init() {
  byId('login-form').addEventListener('submit', onLogin);
  for (const b of document.querySelectorAll('[data-fill-user]')) {
    b.addEventListener('click', () => {
      byId('login-username').value = b.dataset.fillUser;
      byId('login-password').value = b.dataset.fillPassword;
      byId('login-submit').focus();
    });
  }
  // An OIDC session logs out at the provider too: the server's answer says where to go.
  byId('logout').addEventListener('click', (ev) => oidc.isOidcSession()
    ? busy(ev.currentTarget, () => oidc.logout().catch((err) => state.signedIn && setStatus(`Could not log out: ${err.message}`)))
    : onLogout(ev.currentTarget, '/api/auth/logout', 'logout'));
  byId('oidc-login').addEventListener('click', oidc.signIn);
  byId('logout-all').addEventListener('click', (ev) => onLogout(ev.currentTarget, '/api/auth/logout-all', 'logout-all'));
  byId('byok-form').addEventListener('submit', onSaveKey);
  byId('byok-delete').addEventListener('click', onDeleteKey);
  byId('byok-trial').addEventListener('click', async () => {
    try {
      await kw.post('/api/demo/trial-key');
      await loadKeys();
      setStatus('A trial key from the demo upstream was stored for you; only its mask is shown.');
    } catch (err) {
      if (state.signedIn) showError('byok-error', err);
    }
  });
  infoLoaded = kw.get('/api/demo/info').then((info) => {
    byId('demo-users').hidden = !info.showDemoUsers;
    byId('byok-trial').hidden = !info.trialKeys;
    showOAuthAvailability(!!info.oauthConnection);
    oidc.show(!!info.oidcSignIn);
  }, () => {
    showOAuthAvailability(false);
    oidc.show(false);
  });
  // A top-level navigation: the provider's sign-in page, then back to /api/connect/demo-oauth/callback and here.
  byId('oauth-connect').addEventListener('click', () => location.assign(`/api/connect/${OAUTH_SERVICE}?returnTo=/`));
  byId('oauth-call').addEventListener('click', onOAuthCall);
  byId('oauth-disconnect').addEventListener('click', onOAuthDisconnect);
  for (const b of document.querySelectorAll('[data-call]')) b.addEventListener('click', () => call(b));
  // Coming back to the tab: check the session at once instead of waiting for the next action.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.signedIn) refreshSessionQuietly();
  });

  refreshAll().then(
    () => document.body.dataset.ready = 'true',
    () => {
      signedOut();
      document.body.dataset.ready = 'true';
    },
  );
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
