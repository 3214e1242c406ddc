/** How bad a finding is. `high` is the advisory's own case (a key readable from a cookie). */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Severities from least to most severe; the index is the rank. */
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** Rank of a severity: `info` is 0, `critical` is 4. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** True when `value` is one of {@link SEVERITIES}. */
export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** Stable identifiers of the rules; the same ids are used by the static audit and the live probe. */
export type RuleId = `KW${string}`;

/**
 * One problem found in source code (`file`, `line`, `column`), in a running app (`url`) or in a
 * session store (`record`, `field`).
 */
export interface Finding {
  ruleId: RuleId;
  severity: Severity;
  /** One sentence: what is wrong here. Never contains a secret value, only a masked form. */
  message: string;
  /** Path of the source file, relative to the working directory when possible. */
  file?: string;
  /** 1-based line and column of the start; 1-based end line and column (exclusive). */
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  /** URL the probe requested when it saw the problem. */
  url?: string;
  /** Masked evidence (a few characters and the length of a secret), never the secret itself. */
  evidence?: string;
  /** Session store: the record's key, its session ID masked (`sess:AbCd…(32 chars)`). */
  record?: string;
  /** Session store: the member of the record that holds the secret (`passport.user.accessToken`). */
  field?: string;
  /** Session store: seconds the record has left; null when it never expires. */
  ttlSeconds?: number | null;
}
