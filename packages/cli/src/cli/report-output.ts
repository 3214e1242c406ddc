import { writeFileSync } from 'node:fs';
import { isSeverity, severityRank, type Finding, type Severity } from '../finding.js';
import { colorsFor } from '../report/colors.js';
import { formatJson } from '../report/json.reporter.js';
import type { Report } from '../report/report.js';
import { formatSarif } from '../report/sarif.reporter.js';
import { formatText } from '../report/text.reporter.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError, type CliIo, type ParsedValues } from './cli-io.js';

export type Format = 'text' | 'json' | 'sarif';

/** `--fail-on`: a severity or `none`. */
export function failOn(value: string): Severity | 'none' {
  if (value === 'none' || isSeverity(value)) return value;
  throw new UsageError(`--fail-on must be one of info, low, medium, high, critical, none; got "${value}"`);
}

/** `--format`: text, json or sarif. */
export function format(value: string): Format {
  if (value === 'text' || value === 'json' || value === 'sarif') return value;
  throw new UsageError(`--format must be text, json or sarif; got "${value}"`);
}

/** Writes the report in its format to stdout or to `--output`. */
export function emit(report: Report, fmt: Format, values: ParsedValues, io: CliIo): void {
  const output = values['output'] as string | undefined;
  const toFile = output !== undefined;
  const colors = colorsFor(toFile ? undefined : io.stdout, io.env, values['no-color'] ? false : (values['color'] as boolean | undefined));
  const text = fmt === 'json' ? formatJson(report) : fmt === 'sarif' ? formatSarif(report) : formatText(report, colors);
  if (toFile) {
    writeFileSync(output, text);
    if (fmt !== 'text') io.stderr.write(`keyward: ${report.findings.length} finding(s) written to ${output}\n`);
  } else io.stdout.write(text);
}

/** 1 when a finding is at least as severe as the threshold, else 0. */
export function exitCode(findings: readonly Finding[], threshold: Severity | 'none'): number {
  if (threshold === 'none') return EXIT_OK;
  return findings.some((f) => severityRank(f.severity) >= severityRank(threshold)) ? EXIT_FINDINGS : EXIT_OK;
}

/** A progress line on stderr, only on a TTY and without `--quiet`, at most every 80 ms. */
export function progress(io: CliIo, quiet: boolean): { update(line: string): void; done(): void } {
  const live = !quiet && io.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  return {
    update(line) {
      if (!live) return;
      const now = Date.now();
      if (now - last < 80) return;
      last = now;
      io.stderr.write(`\r\u001b[2K${line}`);
      shown = true;
    },
    done() {
      if (shown) io.stderr.write('\r\u001b[2K');
    },
  };
}
