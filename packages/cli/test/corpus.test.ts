import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScores, keywardDetect, scoreCorpus } from './corpus-eval.js';

test('labelled corpus: precision and recall per rule', () => {
  const result = scoreCorpus(keywardDetect);
  console.log(`keyward on ${result.files} corpus files (line-level labels)\n${formatScores(result)}`);
  if (result.falsePositives.length > 0) console.log(`false positives:\n  ${result.falsePositives.join('\n  ')}`);
  if (result.falseNegatives.length > 0) console.log(`false negatives:\n  ${result.falseNegatives.join('\n  ')}`);
  for (const [rule, s] of Object.entries(result.scores)) {
    assert.ok(s.tp + s.fn >= 3, `${rule}: the corpus needs at least 3 labelled cases`);
    assert.ok(s.precision >= 0.9, `${rule}: precision ${s.precision.toFixed(2)} < 0.9`);
    assert.ok(s.recall >= 0.9, `${rule}: recall ${s.recall.toFixed(2)} < 0.9`);
  }
});
