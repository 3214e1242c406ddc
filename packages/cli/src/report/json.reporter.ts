import { RULES } from '../rules/rules.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { countBySeverity, rulesSeen, sortFindings, type Report } from './report.js';

/** Machine-readable report: findings (secrets masked), rule texts and a summary. */
export function formatJson(report: Report): string {
  const findings = sortFindings(report.findings).map(({ maskRanges: _m, ...f }) => ({
    ...f,
    rule: RULES[f.ruleId].name,
    fix: RULES[f.ruleId].fix,
    ...(RULES[f.ruleId].guide ? { guide: RULES[f.ruleId].guide } : {}),
  }));
  const body = {
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    command: report.command,
    ...(report.target ? { target: report.target } : {}),
    summary: {
      total: report.findings.length,
      bySeverity: countBySeverity(report.findings),
      ...(report.filesScanned !== undefined ? { filesScanned: report.filesScanned, linesScanned: report.linesScanned } : {}),
      ...(report.requests !== undefined ? { requests: report.requests } : {}),
      ...(report.records ? { records: report.records } : {}),
      durationMs: Math.round(report.durationMs),
    },
    findings,
    rules: Object.fromEntries(rulesSeen(report.findings).map((id) => [id, RULES[id]])),
    ...(report.notes && report.notes.length > 0 ? { notes: report.notes } : {}),
  };
  return JSON.stringify(body, null, 2) + '\n';
}
