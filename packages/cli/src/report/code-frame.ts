import { PROVIDER_PATTERNS, maskSecret } from '../secrets/secret-detector.js';

/**
 * Lines around a location, with a `>` marker and a caret underline, and every secret masked:
 * the ranges given (the literals the finding is about) and any provider key format on the lines.
 */
export function codeFrame(
  text: string,
  loc: { line: number; column: number; endLine: number; endColumn: number; maskRanges?: readonly (readonly [number, number])[] },
  context = 1,
): string {
  // offsets of the finding in the original text, shifted as masking shortens literals
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  let startOff = (lineStarts[loc.line - 1] ?? 0) + loc.column - 1;
  let endOff = (lineStarts[loc.endLine - 1] ?? 0) + loc.endColumn - 1;
  let masked = text;
  // mask from the end so earlier offsets stay valid
  const ranges = [...(loc.maskRanges ?? [])].sort((a, b) => b[0] - a[0]);
  for (const [start, end] of ranges) {
    const raw = masked.slice(start, end);
    const quote = /^['"`]/.test(raw) ? raw[0]! : '';
    const inner = quote ? raw.slice(1, -1) : raw;
    const replacement = quote + maskSecret(inner) + quote;
    const delta = replacement.length - (end - start);
    if (end <= startOff) startOff += delta;
    if (end <= endOff) endOff += delta;
    else if (start < endOff) endOff = start + replacement.length;
    masked = masked.slice(0, start) + replacement + masked.slice(end);
  }
  const maskedStarts = [0];
  for (let i = masked.indexOf('\n'); i !== -1; i = masked.indexOf('\n', i + 1)) maskedStarts.push(i + 1);
  const colOf = (off: number, line: number): number => off - (maskedStarts[line - 1] ?? 0) + 1;
  loc = { ...loc, column: colOf(startOff, loc.line), endColumn: colOf(endOff, loc.endLine) };
  const lines = masked.split(/\r?\n/);
  const first = Math.max(1, loc.line - context);
  const last = Math.min(lines.length, loc.line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    let line = lines[n - 1] ?? '';
    for (const { pattern } of PROVIDER_PATTERNS) line = line.replace(new RegExp(pattern.source, 'g'), (m) => maskSecret(m));
    if (line.length > 160) line = line.slice(0, 157) + '...';
    const marker = n === loc.line ? '>' : ' ';
    out.push(`${marker} ${String(n).padStart(width)} | ${line}`);
    if (n === loc.line) {
      const startCol = Math.max(1, loc.column);
      const endCol = loc.endLine === loc.line ? Math.max(startCol + 1, loc.endColumn) : Math.max(startCol + 1, line.length + 1);
      const len = Math.min(endCol - startCol, Math.max(1, 160 - startCol));
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(startCol - 1)}${'^'.repeat(Math.max(1, len))}`);
    }
  }
  return out.join('\n');
}
