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
import { createCallPanel } from '/call-panel.js';
import { createOAuthPanel } from '/oauth-panel.js';
import { createOidcPanel } from '/oidc-panel.js';
import { busy, byId, dateTimeFmt, h, showError, timeFmt } from '/page-kit.js';

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

const oidc = createOidcPanel({ kw, byId, h });
const panelHost = { kw, isSignedIn: () => state.signedIn, setStatus, afterCall: () => refreshSessionQuietly() };
const calls = createCallPanel(panelHost);
const oauth = createOAuthPanel(panelHost);
let infoLoaded = Promise.resolve();

// ---------------------------------------------------------------------- time


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
  calls.clear();
  renderKeys([]);
  oauth.clear();
  oidc.clear();
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

// ---------------------------------------------------------------------- flows

// Every other request may slide the idle expiry, so the session is read last: the countdown
// then shows the expiry the server will apply. The read itself is the probe (slide=false).
async function refreshAll() {
  await infoLoaded;
  await Promise.all([loadSessions(), loadKeys(), oauth.load()]);
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
    oauth.show(!!info.oauthConnection);
    oidc.show(!!info.oidcSignIn);
  }, () => {
    oauth.show(false);
    oidc.show(false);
  });
  oauth.bind();
  for (const b of document.querySelectorAll('[data-call]')) b.addEventListener('click', () => calls.call(b));
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
