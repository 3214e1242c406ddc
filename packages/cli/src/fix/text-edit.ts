/** One replacement in a file's text: the characters `[start, end)` become `text` (an insertion when start === end). */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** A group of edits that fixes one finding: applied all together or not at all. */
export interface EditGroup {
  edits: readonly TextEdit[];
}

/** What {@link applyEditGroups} did: the new text, the groups it applied and those it left for another pass. */
export interface AppliedEdits<G extends EditGroup> {
  text: string;
  applied: G[];
  /** Groups that overlap an applied one: re-plan them on the new text (their finding may be gone or need less). */
  deferred: G[];
}

function sameEdit(a: TextEdit, b: TextEdit): boolean {
  return a.start === b.start && a.end === b.end && a.text === b.text;
}

/**
 * Two different edits conflict when their ranges intersect, or when one inserts where the other
 * starts (their order would be a guess). Touching ranges (one ends where the other starts) do not.
 */
function conflicts(a: TextEdit, b: TextEdit): boolean {
  if (a.start < b.end && b.start < a.end) return true;
  return a.start === b.start && (a.start === a.end || b.start === b.end);
}

/**
 * Applies groups of edits to a text. Groups are taken in order; a group whose edits all equal edits
 * already taken is a duplicate (two findings with one fix) and counts as applied; a group with an
 * edit that conflicts with a taken one is deferred whole. The result does not depend on the order
 * of edits inside a group.
 *
 * @example
 * applyEditGroups('a = 1', [{ edits: [{ start: 4, end: 5, text: '2' }] }]).text // 'a = 2'
 */
export function applyEditGroups<G extends EditGroup>(text: string, groups: readonly G[]): AppliedEdits<G> {
  const taken: TextEdit[] = [];
  const applied: G[] = [];
  const deferred: G[] = [];
  for (const g of groups) {
    const fresh = g.edits.filter((e) => !taken.some((t) => sameEdit(t, e)));
    const clash = fresh.some((e, i) => taken.some((t) => conflicts(t, e)) || fresh.some((o, j) => j !== i && conflicts(o, e)));
    if (clash) {
      deferred.push(g);
      continue;
    }
    taken.push(...fresh);
    applied.push(g);
  }
  taken.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const e of taken) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, applied, deferred };
}
