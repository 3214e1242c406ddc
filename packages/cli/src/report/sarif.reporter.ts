import { RULE_LIST } from '../rules/rules.js';
import type { Severity } from '../finding.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { sortFindings, type Report } from './report.js';

const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '1.0' };

function level(s: Severity): 'error' | 'warning' | 'note' {
  return s === 'critical' || s === 'high' ? 'error' : s === 'medium' ? 'warning' : 'note';
}

/**
 * SARIF 2.1.0 log (one run) for code-scanning tools such as GitHub code scanning. Paths are
 * relative to `%SRCROOT%`; probe findings use the probed URL as their artifact.
 */
export function formatSarif(report: Report): string {
  const rules = RULE_LIST.map((r) => ({
    id: r.id,
    name: r.name,
    shortDescription: { text: r.title },
    fullDescription: { text: r.why },
    ...(r.guide ? { helpUri: r.guide } : {}),
    help: { text: `${r.fix}\n\nExample:\n${r.example}`, markdown: `${r.fix}\n\n**Example**\n\n\`\`\`ts\n${r.example}\n\`\`\`` },
    defaultConfiguration: { level: level(r.severity) },
    properties: { tags: ['security'], 'security-severity': SECURITY_SEVERITY[r.severity], precision: 'high' },
  }));
  const results = sortFindings(report.findings).map((f) => {
    const ruleIndex = RULE_LIST.findIndex((r) => r.id === f.ruleId);
    const physicalLocation = f.file
      ? {
          artifactLocation: { uri: f.file.split('\\').join('/'), uriBaseId: '%SRCROOT%' },
          region: {
            startLine: f.line ?? 1,
            startColumn: f.column ?? 1,
            ...(f.endLine !== undefined ? { endLine: f.endLine } : {}),
            ...(f.endColumn !== undefined ? { endColumn: f.endColumn } : {}),
          },
        }
      : { artifactLocation: { uri: f.url ?? report.target ?? 'about:blank' } };
    return {
      ruleId: f.ruleId,
      ruleIndex,
      level: level(f.severity),
      message: { text: f.evidence ? `${f.message} [${f.evidence}]` : f.message },
      locations: [{ physicalLocation, ...(f.record ? { logicalLocations: [{ fullyQualifiedName: `${f.record} ${f.field ?? ''}`.trim(), kind: 'member' }] } : {}) }],
      properties: { severity: f.severity, 'security-severity': SECURITY_SEVERITY[f.severity] },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL_NAME, version: TOOL_VERSION, semanticVersion: TOOL_VERSION, informationUri: 'https://github.com/keyward/keyward', rules } },
        results,
        columnKind: 'utf16CodeUnits',
        ...(report.command === 'audit' ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileUri(process.cwd()) } } } : {}),
        invocations: [{ executionSuccessful: true, ...(report.notes && report.notes.length > 0 ? { toolExecutionNotifications: report.notes.map((n) => ({ message: { text: n }, level: 'warning' })) } : {}) }],
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

function pathToFileUri(dir: string): string {
  const withSlash = dir.endsWith('/') ? dir : dir + '/';
  return 'file://' + withSlash.split('/').map((s) => encodeURIComponent(s)).join('/');
}
