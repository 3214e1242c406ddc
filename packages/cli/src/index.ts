/**
 * @keyward/cli: `keyward audit` (static analysis) and `keyward probe` (live checks) for API-key
 * exposure through session cookies in NestJS apps, plus the same rules as an ESLint plugin
 * (`@keyward/cli/eslint-plugin`).
 */
export { analyzeSources, type AnalyzeOptions, type SourceFinding } from './audit/analyzer.js';
export { auditPaths, collectFiles, DEFAULT_IGNORED_DIRS, type AuditOptions, type AuditResult } from './audit/audit.js';
export type { SourceInput } from './audit/program.js';
export { fixFindings, type FixedFile, type FixOptions, type FixOutcome } from './fix/fix-files.js';
export { FIXABLE_RULES } from './fix/fix-planner.js';
export { unifiedDiff } from './fix/unified-diff.js';
export { probe, type ProbeOptions, type ProbeResult } from './probe/probe.js';
export { decodeCookieValue, findWeakSigningSecret, signExpress, signKeygrip } from './probe/cookie-decoder.js';
export { parseSetCookie, type SetCookie } from './probe/set-cookie.js';
export { RULES, RULE_LIST, ruleByName, type RuleMeta } from './rules/rules.js';
export { SEVERITIES, isSeverity, severityRank, type Finding, type RuleId, type Severity } from './finding.js';
export { classifyLiteral, findSecretsInText, isPlaceholder, isSecretName, looksRandom, maskSecret, matchProvider, shannonEntropy, PROVIDER_PATTERNS } from './secrets/secret-detector.js';
export { WEAK_SECRETS, isWellKnownWeakSecret } from './secrets/weak-secrets.js';
export { formatJson } from './report/json.reporter.js';
export { formatSarif } from './report/sarif.reporter.js';
export { formatText } from './report/text.reporter.js';
export { colorsFor } from './report/colors.js';
export type { Report } from './report/report.js';
export { runCli, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, type CliIo } from './cli.js';
