import { RULES } from '../rules/rules.js';
import type { Severity } from '../finding.js';
import { codeFrame } from './code-frame.js';
import type { Colors } from './colors.js';
import { countBySeverity, rulesSeen, sortFindings, type Report } from './report.js';

function severityLabel(s: Severity, c: Colors): string {
  const label = s.toUpperCase().padEnd(8);
  switch (s) {
    case 'critical':
    case 'high':
      return c.bold(c.red(label));
    case 'medium':
      return c.yellow(label);
    case 'low':
      return c.cyan(label);
    default:
      return c.gray(label);
  }
}

/**
 * Human-readable report: each finding with its location, message and a code frame (secrets
 * masked), then what each rule means and how to fix it, then a summary line.
 */
export function formatText(report: Report, c: Colors): string {
  const out: string[] = [];
  for (const f of sortFindings(report.findings)) {
    const rule = RULES[f.ruleId];
    const where = f.file ? `${f.file}:${f.line}:${f.column}` : f.record ? `${report.target ?? ''} ${f.record} ${f.field ?? ''}`.trim() : (f.url ?? '');
    out.push(`${severityLabel(f.severity, c)} ${c.bold(f.ruleId)} ${c.gray(rule.name)}  ${c.magenta(where)}`);
    out.push(`  ${f.message}${f.evidence ? c.gray(` [${f.evidence}]`) : ''}`);
    const text = f.file ? report.sources?.get(f.file) : undefined;
    if (text !== undefined && f.line !== undefined && f.column !== undefined) {
      const frame = codeFrame(text, {
        line: f.line,
        column: f.column,
        endLine: f.endLine ?? f.line,
        endColumn: f.endColumn ?? f.column + 1,
        ...(f.maskRanges ? { maskRanges: f.maskRanges } : {}),
      });
      out.push(c.gray(frame.replace(/^/gm, '  ')));
    }
    out.push(`  ${c.green('fix:')} ${rule.fix}`);
    out.push('');
  }
  const seen = rulesSeen(report.findings);
  if (seen.length > 0) {
    out.push(c.bold('Why these matter and how to fix them'));
    out.push('');
    for (const id of seen) {
      const r = RULES[id];
      out.push(`${c.bold(`${r.id} ${r.title}`)} (${r.severity})`);
      out.push(`  ${c.bold('why:')} ${r.why}`);
      out.push(`  ${c.bold('fix:')} ${r.fix}`);
      if (r.guide) out.push(`  ${c.bold('guide:')} ${r.guide}`);
      out.push(c.gray(r.example.replace(/^/gm, '    ')));
      out.push('');
    }
  }
  for (const n of report.notes ?? []) out.push(c.yellow(`note: ${n}`));
  out.push(summaryLine(report, c));
  return out.join('\n') + '\n';
}

/** One line: how many problems of which severity, and what was scanned. */
export function summaryLine(report: Report, c: Colors): string {
  const counts = countBySeverity(report.findings);
  const total = report.findings.length - counts.info;
  const parts = (['critical', 'high', 'medium', 'low'] as const).filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  if (counts.info > 0) parts.push(`${counts.info} info`);
  const scanned =
    report.command === 'audit'
      ? `${report.filesScanned ?? 0} files (${report.linesScanned ?? 0} lines) scanned in ${Math.round(report.durationMs)} ms`
      : report.command === 'legacy-sessions'
        ? recordsLine(report)
        : `${report.target ?? ''}: ${report.requests ?? 0} requests in ${Math.round(report.durationMs)} ms`;
  if (total === 0) return `${c.green('✔ no problems found')}${counts.info > 0 ? ` (${counts.info} info note${counts.info === 1 ? '' : 's'})` : ''} · ${scanned}`;
  const head = `✖ ${total} problem${total === 1 ? '' : 's'} (${parts.join(', ')})`;
  return `${counts.high + counts.critical > 0 ? c.bold(c.red(head)) : c.yellow(head)} · ${scanned}`;
}

function recordsLine(report: Report): string {
  const r = report.records ?? { pattern: '', scanned: 0, withSecrets: 0 };
  const what = `${report.target ?? ''}: ${r.scanned} record${r.scanned === 1 ? '' : 's'} matching "${r.pattern}" read in ${Math.round(report.durationMs)} ms, ${r.withSecrets} holding secrets`;
  if (r.dryRun) return `${what}; dry run: ${r.withSecrets} would be deleted, none was`;
  if (r.deleted === undefined) return what;
  return `${what}; ${r.deleted} deleted${r.kept ? `, ${r.kept} kept (see the notes)` : ''}`;
}
