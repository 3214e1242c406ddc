/** The demo identity provider's HTML pages: plain forms, no script, nothing from elsewhere. */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Headers for every page: no caching, no framing, no script, forms only to this origin. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
};

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** The sign-in form: POSTs `username` and `password` to `action`. */
export function loginPage(options: { action: string; clientName: string; username?: string; error?: string }): string {
  const error = options.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(options.error)}</p>`;
  return page(
    'Sign in to the demo identity provider',
    `<p>${escapeHtml(options.clientName)} asks you to sign in.</p>${error}` +
      `<form method="post" action="${escapeHtml(options.action)}" autocomplete="off">` +
      `<label for="username">Username</label><input id="username" name="username" required autofocus value="${escapeHtml(options.username ?? '')}">` +
      '<label for="password">Password</label><input id="password" name="password" type="password" required>' +
      '<button type="submit">Sign in</button></form>',
  );
}

/** The RP-initiated logout confirmation; `form` is oidc-provider's hidden form (id `op.logoutForm`, with its xsrf field). */
export function logoutPage(form: string, clientName: string | undefined): string {
  const who = clientName === undefined ? 'the demo identity provider' : `the demo identity provider (and ${escapeHtml(clientName)})`;
  return page(
    'Sign out',
    `<p>Do you want to sign out of ${who}?</p>${form}` +
      '<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button> ' +
      '<button type="submit" form="op.logoutForm">No, stay signed in</button>',
  );
}

/** Shown after a logout without a post-logout redirect. */
export function loggedOutPage(): string {
  return page('Signed out', '<p>You are signed out of the demo identity provider.</p>');
}

/** A protocol error shown to the user (the error code and its public description only). */
export function errorPage(error: string, description: string | undefined): string {
  return page('Sign-in error', `<p class="error">${escapeHtml(error)}${description === undefined ? '' : `: ${escapeHtml(description)}`}</p>`);
}
