// The demo page's connected-account (OAuth) panel, kept out of app.js. The demo-oauth
// connection: the page starts it with a top-level navigation (the provider's sign-in page is
// another site), lists it (service, scopes, expiry: never a token), calls the upstream
// through it and disconnects it. The tokens never reach this page.
import { busy, byId, dateTimeFmt, h } from '/page-kit.js';

const OAUTH_SERVICE = 'demo-oauth';

/**
 * @param {{ kw: any, isSignedIn: () => boolean, setStatus: (text: string) => void, afterCall: () => void }} page what app.js shares
 * @example
 * const oauth = createOAuthPanel({ kw, isSignedIn: () => state.signedIn, setStatus, afterCall: refreshSessionQuietly });
 * oauth.bind(); oauth.show(info.oauthConnection); await oauth.load();
 */
export function createOAuthPanel(page) {
  const { kw } = page;
  let oauthEnabled = false;
  let seq = 0;


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

  async function load() {
    if (!oauthEnabled) return;
    try {
      renderConnections(await kw.get('/api/connections'));
    } catch (err) {
      if (page.isSignedIn()) page.setStatus(`Could not list connections: ${err.code}.`);
    }
  }

  function show(enabled) {
    oauthEnabled = enabled;
    byId('oauth-unavailable').hidden = enabled;
    byId('oauth-controls').hidden = !enabled;
  }

  function renderOAuthResult(outcome) {
    const box = byId('oauth-result');
    box.dataset.seq = String(++seq);
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
        if (!page.isSignedIn()) return;
        outcome = { ok: false, error };
      }
      renderOAuthResult(outcome);
      page.setStatus(outcome.ok ? `Through the connection: the upstream saw ${outcome.data && outcome.data.auth} auth for ${outcome.data && outcome.data.sub}.` : `Through the connection: ${outcome.error.code}.`);
      await load();
      page.afterCall();
    });
  }

  async function onOAuthDisconnect() {
    await busy(byId('oauth-disconnect'), async () => {
      try {
        await kw.delete(`/api/connections/${OAUTH_SERVICE}`);
        await load();
        page.setStatus('Disconnected: the tokens were revoked at the identity provider.');
      } catch (err) {
        if (page.isSignedIn()) page.setStatus(`Could not disconnect: ${err.code}.`);
      }
    });
  }

  /** Signed out: no connection or result of the old session stays on the page. */
  function clear() {
    renderConnections([]);
    byId('oauth-result').dataset.state = 'empty';
    byId('oauth-result').replaceChildren(h('p', { class: 'hint' }, 'No call through the connection yet.'));
  }

  function bind() {
    // A top-level navigation: the provider's sign-in page, then back to /api/connect/demo-oauth/callback and here.
    byId('oauth-connect').addEventListener('click', () => location.assign(`/api/connect/${OAUTH_SERVICE}?returnTo=/`));
    byId('oauth-call').addEventListener('click', onOAuthCall);
    byId('oauth-disconnect').addEventListener('click', onOAuthDisconnect);
  }

  return { show, load, clear, bind };
}
