import type ts from 'typescript5';

/* What the value-following room says about a value: where a secret came from, and which sinks count it. */

/** Where a secret came from, for messages. */
export interface Taint {
  label: string;
  /** The literal, when the secret is a literal in the source. */
  literal?: ts.StringLiteralLike;
  /** A bearer or OAuth token (not a key): a secret only where the sink says so. */
  token?: boolean;
  /** A whole token-endpoint response (`await res.json()`, `response.data`): its fields are tokens. */
  response?: boolean;
}

/**
 * What counts as a secret at a sink. `secret`: keys and signing secrets only. `provider-token`: also
 * bearer tokens and, in a file that runs an OAuth flow, the provider's access, refresh and id tokens
 * and PKCE verifiers (cookies, client-side sessions, response bodies: the app's own session token
 * belongs there). `any-token`: also the app's own tokens (logs).
 */
export type TaintMode = 'secret' | 'provider-token' | 'any-token';

/** Which kind of token a name denotes, if any. */
export function tokenNameKind(name: string): 'verifier' | 'bearer' | 'oauth' | 'generic' | undefined {
  const n = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
  if (/(?:^|_)code_verifier$|^(?:pkce_)?verifier$/.test(n)) return 'verifier';
  if (/(?:^|_)(?:bearer(?:_token|_header)?|authorization(?:_header)?|auth_header)$/.test(n)) return 'bearer';
  if (/(?:^|_)(?:access|refresh|id)_tokens?$|^_?tokens$|^oauth|(?:^|_)tokens?_(?:data|response|res|set|result|json|info)$/.test(n)) return 'oauth';
  if (/(?:^|_)token$/.test(n)) return 'generic';
  return undefined;
}

