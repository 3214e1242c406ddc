import type { RuleId } from '../finding.js';
import { secretInClientSessionOrCookie } from './kw001-secret-in-client-session-or-cookie.rule.js';
import { insecureCookieOptions } from './kw002-insecure-cookie-options.rule.js';
import { hardcodedOrFallbackSecret } from './kw003-hardcoded-or-fallback-secret.rule.js';
import { secretLoggedOrReturned } from './kw004-secret-logged-or-returned.rule.js';
import { corsReflectsAnyOriginWithCredentials } from './kw005-cors-reflects-any-origin-with-credentials.rule.js';
import { missingHsts } from './kw006-missing-hsts.rule.js';
import { plaintextSecretInServerSession } from './kw007-plaintext-secret-in-server-session.rule.js';
import { plaintextSecretInSessionStore } from './kw008-plaintext-secret-in-session-store.rule.js';
import type { Rule, RuleMeta } from './rule.js';

export type { Rule, RuleMeta } from './rule.js';

/**
 * Every rule, in id order: the one list that `keyward audit`, `keyward rules`, the reports, the
 * ESLint plugin and the corpus evaluation derive from. Adding a rule is a file in this folder,
 * a line here, and fixtures.
 */
export const ALL_RULES: readonly Rule[] = [
  secretInClientSessionOrCookie,
  insecureCookieOptions,
  hardcodedOrFallbackSecret,
  secretLoggedOrReturned,
  corsReflectsAnyOriginWithCredentials,
  missingHsts,
  plaintextSecretInServerSession,
  plaintextSecretInSessionStore,
];

/** The rules `keyward audit` runs (those with a visitor). */
export const AUDIT_RULES: readonly Rule[] = ALL_RULES.filter((r) => r.visit !== undefined);

/** Every rule's metadata, by id. */
export const RULES: Readonly<Record<RuleId, RuleMeta>> = Object.fromEntries(ALL_RULES.map((r) => [r.meta.id, r.meta])) as Record<RuleId, RuleMeta>;

/** All rules' metadata in id order. */
export const RULE_LIST: readonly RuleMeta[] = ALL_RULES.map((r) => r.meta);

/** The rule for a kebab-case name, or undefined. */
export function ruleByName(name: string): RuleMeta | undefined {
  return RULE_LIST.find((r) => r.name === name);
}
