// The demo page's proxy-call panel, kept out of app.js: the four calls through Keyward's
// proxy (server key, per-session key, the user's own key, a careless upstream), their result
// and a short history. The keys never reach this page: the proxy attaches them on the server.
import { busy, byId, h, timeFmt } from '/page-kit.js';

/**
 * @param {{ kw: any, isSignedIn: () => boolean, setStatus: (text: string) => void, afterCall: () => void }} page what app.js shares
 * @example
 * const calls = createCallPanel({ kw, isSignedIn: () => state.signedIn, setStatus, afterCall: refreshSessionQuietly });
 * for (const b of document.querySelectorAll('[data-call]')) b.addEventListener('click', () => calls.call(b));
 */
export function createCallPanel(page) {
  const { kw } = page;
  let callSeq = 0;

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

  function reset() {
    const box = byId('call-result');
    box.dataset.state = 'empty';
    box.replaceChildren(h('p', { class: 'hint' }, 'No call yet.'));
  }


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
        if (!page.isSignedIn()) return; // 401: the signed-out view says why
        outcome = { ok: false, error };
      }
      renderCallResult(kind, path, outcome);
      page.setStatus(outcome.ok ? `${CALL_LABELS[kind]}: answered with key ${outcome.data && outcome.data.keyId}.` : `${CALL_LABELS[kind]}: ${outcome.error.code}.`);
      page.afterCall();
    });
  }

  /** Empties the result box and the history (signed out: nothing of the session stays). */
  function clear() {
    reset();
    byId('call-history').replaceChildren();
  }

  return { call, reset, clear };
}
