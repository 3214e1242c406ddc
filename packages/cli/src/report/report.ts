import type { Finding, RuleId, Severity } from '../finding.js';
import { SEVERITIES, severityRank } from '../finding.js';

/** The result of one `keyward audit`, `keyward probe` or `keyward legacy-sessions` run, as the reporters see it. */
export interface Report {
  command: 'audit' | 'probe' | 'legacy-sessions';
  findings: (Finding & { maskRanges?: readonly (readonly [number, number])[] })[];
  durationMs: number;
  /** audit: files and lines scanned. */
  filesScanned?: number;
  linesScanned?: number;
  /** probe: the URL probed and the number of requests made; legacy-sessions: the store (no credentials) or dump read. */
  target?: string;
  requests?: number;
  /** audit: file texts by display path, for code frames. */
  sources?: ReadonlyMap<string, string>;
  /** probe: problems that stopped a check (connection refused, time-out), never secrets. */
  notes?: string[];
  /** legacy-sessions: the key pattern, records read, records holding a secret, and what `delete` did. */
  records?: { pattern: string; scanned: number; withSecrets: number; deleted?: number; kept?: number; dryRun?: boolean };
}

/** Count of findings per severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** Rule ids that appear in the findings, in id order. */
export function rulesSeen(findings: readonly Finding[]): RuleId[] {
  return [...new Set(findings.map((f) => f.ruleId))].sort();
}

/** Findings sorted most severe first, then by location. */
export function sortFindings<T extends Finding>(findings: readonly T[]): T[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      (a.file ?? a.url ?? a.record ?? '').localeCompare(b.file ?? b.url ?? b.record ?? '') ||
      (a.field ?? '').localeCompare(b.field ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}
