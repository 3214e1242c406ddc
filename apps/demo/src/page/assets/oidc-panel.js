// The demo page's "Sign in with the demo identity provider" parts (issue 25), kept out of
// app.js: the sign-in button, the signed-in user's claims and time left, and the OIDC logout.
// Same rules as app.js: no cookie, no storage, no token ever (the server keeps the provider's
// tokens; /api/auth/user answers safe claims only), every request through @keyward/client.

/**
 * @param {{ kw: any, byId: (id: string) => HTMLElement, h: Function }} page what app.js shares
 * @example
 * const oidc = createOidcPanel({ kw, byId, h });
 * oidc.show(info.oidcSignIn); await oidc.load(); if (oidc.isOidcSession()) await oidc.logout();
 */
export function createOidcPanel({ kw, byId, h }) {
  let oidcSession = false;
  let deadline = 0;
  let timer = 0;

  function tick() {
    const s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    byId('oidc-expires-in').textContent = s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
    byId('oidc-expires-in').dataset.seconds = String(s);
  }

  function clear() {
    oidcSession = false;
    clearInterval(timer);
    timer = 0;
    byId('oidc-user').hidden = true;
    byId('oidc-claims').replaceChildren();
    byId('oidc-expires-in').textContent = '–';
  }

  return {
    /** Offers the button when the app has a sign-in client, else says there is none. */
    show(enabled) {
      byId('oidc-login').hidden = !enabled;
      byId('oidc-unavailable').hidden = enabled;
    },

    /** A top-level navigation: the provider's sign-in page, then the callback, then back here. */
    signIn() {
      location.assign('/api/auth/oidc/login?returnTo=/');
    },

    /** Reads the user without extending the session (`slide=false`); shows claims for an OIDC session. */
    async load() {
      const answer = await kw.get('/api/auth/user?slide=false');
      // logoutUrl is set for every session once the app has `oidc`; a sign-in's user ID is `oidc:<issuer hash>:<sub>`.
      oidcSession = typeof answer.logoutUrl === 'string' && String(answer.user.id).startsWith('oidc:');
      deadline = Date.now() + Number(answer.expiresIn) * 1000;
      byId('oidc-user').hidden = !oidcSession;
      if (!oidcSession) return clear();
      byId('oidc-claims').replaceChildren(...Object.entries(answer.user).map(([k, v]) =>
        h('div', { 'data-claim': k }, h('dt', {}, k), h('dd', { 'data-testid': `claim-${k}` }, String(v)))));
      tick();
      if (!timer) timer = setInterval(tick, 1000);
    },

    isOidcSession: () => oidcSession,

    /** Ends the session here (tokens revoked), then lets the provider end its own. */
    async logout() {
      const { redirectTo } = await kw.post('/api/auth/oidc/logout');
      clear();
      const target = new URL(redirectTo, location.href);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('Unexpected logout URL.');
      location.assign(target.href);
    },

    clear,
  };
}
