import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CORPORA, formatScores, keywardDetect, scoreCorpus } from './corpus-eval.js';

/*
 * Precision and recall per rule, at line level, on both labelled corpora: the hand-written one
 * (every rule needs at least 3 labelled cases there) and the corpus of real code from public
 * repositories (a rule with no labelled case there is gated on precision: it must not fire on the
 * real safe code). Gate: 0.9 each.
 */
for (const [name, dir] of Object.entries(CORPORA)) {
  test(`labelled corpus (${name}): precision and recall per rule`, () => {
    const result = scoreCorpus(keywardDetect, 'line', dir);
    console.log(`keyward on ${result.files} ${name} corpus files (line-level labels)\n${formatScores(result)}`);
    if (result.falsePositives.length > 0) console.log(`false positives:\n  ${result.falsePositives.join('\n  ')}`);
    if (result.falseNegatives.length > 0) console.log(`false negatives:\n  ${result.falseNegatives.join('\n  ')}`);
    if (name === 'real') assert.ok(result.files >= 40, `the real corpus needs at least 40 files, has ${result.files}`);
    for (const [rule, s] of Object.entries(result.scores)) {
      if (name === 'hand-written') assert.ok(s.tp + s.fn >= 3, `${rule}: the corpus needs at least 3 labelled cases`);
      assert.ok(s.precision >= 0.9, `${name} ${rule}: precision ${s.precision.toFixed(2)} < 0.9`);
      assert.ok(s.recall >= 0.9, `${name} ${rule}: recall ${s.recall.toFixed(2)} < 0.9`);
    }
  });
}
