import type ts from 'typescript5';

/* What the value-following room says about a value: where a secret came from, and which sinks count it. */

/**
 * What a value is: a key or signing secret (`secret`); a provider's token, proven by where it comes
 * from (`provider-token`: an OAuth library's result, a token-endpoint response, a passport verify
 * callback); a bearer header; a PKCE verifier; the app's own issued token (`own-token`: `jwt.sign`,
 * a login result); or a value only named like a token (`named-token`: names alone raise no finding
 * where the sink needs proof).
 */
export type TaintKind = 'secret' | 'provider-token' | 'bearer' | 'verifier' | 'own-token' | 'named-token';

/** Where a secret came from, for messages. */
export interface Taint {
  /** Where the value comes from, in words (with the file and line of its source when it is elsewhere). */
  label: string;
  /** The literal, when the secret is a literal in the source. */
  literal?: ts.StringLiteralLike;
  /** What the value is; a key or signing secret when absent. */
  kind?: TaintKind;
  /** For a `named-token`: whether the name says an access, refresh or id token (`oauth`) or just `token` (`generic`). */
  nameKind?: 'oauth' | 'generic';
  /** A whole token-endpoint response (`await res.json()`, `response.data`): its fields are tokens. */
  response?: boolean;
}

/**
 * What counts as a secret at a sink. `secret`: keys and signing secrets only. `provider-token`:
 * also bearer tokens, PKCE verifiers and a provider's tokens (cookies, sessions, response bodies:
 * the app's own session token belongs there). `any-token`: also the app's own tokens and values
 * named like access, refresh or id tokens (logs). `readable-cookie`: a cookie page scripts can
 * read, where any token counts, even one only named `token`.
 */
export type TaintMode = 'secret' | 'provider-token' | 'any-token' | 'readable-cookie';

const ALL: ReadonlySet<TaintKind> = new Set(['secret', 'provider-token', 'bearer', 'verifier', 'own-token', 'named-token']);

/** The kinds of value each sink counts. */
export const MODE_ACCEPTS: Readonly<Record<TaintMode, ReadonlySet<TaintKind>>> = {
  secret: new Set(['secret']),
  'provider-token': new Set(['secret', 'provider-token', 'bearer', 'verifier']),
  'any-token': ALL,
  'readable-cookie': ALL,
};

/** True for the kinds that are the app's own token or only a name (a finding only where any token counts). */
export function isOwnOrNamedToken(t: Taint): boolean {
  return t.kind === 'own-token' || t.kind === 'named-token';
}

/** Which kind of token a name denotes, if any. CSRF tokens, OAuth `state` and nonces are not tokens here. */
export function tokenNameKind(name: string): 'verifier' | 'bearer' | 'oauth' | 'generic' | undefined {
  const n = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
  if (/csrf|xsrf|nonce|(?:^|_)state$/.test(n)) return undefined;
  if (/(?:^|_)code_verifier$|^(?:pkce_)?verifier$/.test(n)) return 'verifier';
  if (/(?:^|_)(?:bearer(?:_token|_header)?|authorization(?:_header)?|auth_header)$/.test(n)) return 'bearer';
  if (/(?:^|_)(?:access|refresh|id)_tokens?$|^_?tokens$|^oauth|(?:^|_)tokens?_(?:data|response|res|set|result|json|info)$/.test(n)) return 'oauth';
  if (/(?:^|_)(?:token|jwt)$/.test(n)) return 'generic';
  return undefined;
}
