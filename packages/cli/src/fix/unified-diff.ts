/*
 * A unified diff of two versions of one file (the format `git apply` and `patch -p1` read), for
 * `keyward audit --fix --dry-run`. Lines are compared whole; the changed middle of the file (after
 * the common head and tail) is aligned by longest common subsequence.
 */

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Marks a last line that has no newline after it: it differs from the same text with one. */
const NO_NEWLINE = '\u0000';

function splitLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_NEWLINE;
  return lines;
}

/** Above this many cells the middle is shown as removed and added whole rather than aligned. */
const MAX_LCS_CELLS = 4_000_000;

function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ops: Op[] = [];
  for (let i = 0; i < head; i++) ops.push({ kind: ' ', line: a[i]! });
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n * m > MAX_LCS_CELLS) {
    for (let i = 0; i < n; i++) ops.push({ kind: '-', line: a[head + i]! });
    for (let j = 0; j < m; j++) ops.push({ kind: '+', line: b[head + j]! });
  } else {
    // lcs[i][j]: length of the longest common subsequence of a[head+i..] and b[head+j..]
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = a[head + i] === b[head + j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] === b[head + j]) {
        ops.push({ kind: ' ', line: a[head + i]! });
        i++;
        j++;
      } else if (j >= m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        ops.push({ kind: '-', line: a[head + i]! });
        i++;
      } else {
        ops.push({ kind: '+', line: b[head + j]! });
        j++;
      }
    }
  }
  for (let i = a.length - tail; i < a.length; i++) ops.push({ kind: ' ', line: a[i]! });
  return ops;
}

/**
 * The unified diff turning `before` into `after`, with `context` lines around each change, or ''
 * when they are equal. Paths are written as `a/<path>` and `b/<path>` (apply with `git apply` or
 * `patch -p1` from the directory the paths are relative to).
 *
 * @example
 * unifiedDiff('src/main.ts', "a\nb\n", "a\nc\n")
 * // '--- a/src/main.ts\n+++ b/src/main.ts\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n'
 * @default context 3
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const changed = ops.map((o, i) => (o.kind === ' ' ? -1 : i)).filter((i) => i >= 0);
  // hunks: runs of changes whose gaps are at most 2 * context unchanged lines
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const last = hunks[hunks.length - 1];
    if (last && i - last[1] - 1 <= 2 * context) last[1] = i;
    else hunks.push([i, i]);
  }
  if (hunks.length === 0) return '';
  const out = [`--- a/${path}`, `+++ b/${path}`];
  for (const [first, last] of hunks) {
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, last + context);
    // where the hunk starts in each file: count the lines of each file before `from`
    let oldStart = 0;
    let newStart = 0;
    for (let k = 0; k < from; k++) {
      if (ops[k]!.kind !== '+') oldStart++;
      if (ops[k]!.kind !== '-') newStart++;
    }
    let oldCount = 0;
    let newCount = 0;
    const body: string[] = [];
    for (let k = from; k <= to; k++) {
      const o = ops[k]!;
      if (o.kind !== '+') oldCount++;
      if (o.kind !== '-') newCount++;
      if (o.line.endsWith(NO_NEWLINE)) body.push(`${o.kind}${o.line.slice(0, -1)}`, '\\ No newline at end of file');
      else body.push(`${o.kind}${o.line}`);
    }
    const range = (start: number, count: number): string => (count === 0 ? `${start},0` : count === 1 ? `${start + 1}` : `${start + 1},${count}`);
    out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`, ...body);
  }
  return out.join('\n') + '\n';
}
