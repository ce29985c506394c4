import { averagePrecision, cardPrecisionAtK, rocAuc } from './metrics.js';
import { seededRandom } from '../training/synthetic.js';
import { ensureScikitLearn, runPython } from '../testing/scikit-learn.js';

/**
 * Cross-checks ROC AUC, average precision and card precision@100 against independent implementations:
 * scikit-learn's roc_auc_score / average_precision_score and a small Python CP@k written from ML-EVAL.md's
 * definition (not from the TypeScript). Integration tier: it spawns python3 and installs scikit-learn when
 * missing (`python3 -m pip install --quiet scikit-learn`).
 */
const PYTHON_REFERENCE = String.raw`
import json, sys
from sklearn.metrics import average_precision_score, roc_auc_score

def card_precision_at_k(scores, labels, cards, days, k):
    # ML-EVAL.md: per test day, each card's highest score that day and whether it had a fraud that day;
    # rank (score descending, then card id ascending), take the top k, precision = frauds / k;
    # cards detected (fraud in a day's top k) are dropped from later days; mean over days.
    detected = set()
    per_day = []
    for day in sorted(set(days)):
        best = {}
        for s, y, c, d in zip(scores, labels, cards, days):
            if d != day or c in detected:
                continue
            prev = best.get(c)
            best[c] = (max(prev[0], s), prev[1] or y == 1) if prev else (s, y == 1)
        top = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        hits = [c for c, (_, fraud) in top if fraud]
        per_day.append(len(hits) / k)
        detected.update(hits)
    return sum(per_day) / len(per_day)

data = json.load(sys.stdin)
out = []
for case in data:
    s, y = case["scores"], case["labels"]
    out.append({
        "auc": roc_auc_score(y, s),
        "ap": average_precision_score(y, s),
        "cp": card_precision_at_k(s, y, case["cards"], case["days"], 100),
    })
print(json.dumps(out))
`;

interface Case {
  scores: number[];
  labels: number[];
  cards: number[];
  days: number[];
}
interface Reference {
  auc: number;
  ap: number;
  cp: number;
}

function reference(cases: readonly Case[]): Reference[] {
  return runPython<Reference[]>(PYTHON_REFERENCE, cases);
}

function ours(c: Case): Reference {
  return {
    auc: rocAuc(c.scores, c.labels),
    ap: averagePrecision(c.scores, c.labels),
    cp: cardPrecisionAtK(c.scores, c.labels, c.cards, c.days, 100).mean,
  };
}

/** 7 days × 400 cards, ~1.5 % fraud; the score is informative but noisy, rounded to 2 decimals so ties occur. */
function fixedCase(seed: number): Case {
  const random = seededRandom(seed);
  const c: Case = { scores: [], labels: [], cards: [], days: [] };
  for (let day = 0; day < 7; day++)
    for (let i = 0; i < 1_500; i++) {
      const card = Math.floor(random() * 400);
      const fraud = random() < 0.015 ? 1 : 0;
      c.scores.push(Math.round(Math.min(1, Math.max(0, 0.3 * fraud + 0.6 * random())) * 100) / 100);
      c.labels.push(fraud);
      c.cards.push(card);
      c.days.push(day);
    }
  return c;
}

beforeAll(() => ensureScikitLearn(), 300_000);

describe('metrics agree with scikit-learn and an independent CP@100', () => {
  test('same values to 3 decimals on fixed data (with ties); a planted wrong ranking changes them', () => {
    const cases = [fixedCase(1), fixedCase(2)];
    // Planted fault: the same data with the ranking inverted for every other transaction.
    const planted: Case = { ...cases[0]!, scores: cases[0]!.scores.map((s, i) => (i % 2 === 0 ? 1 - s : s)) };
    const expected = reference([...cases, planted]);
    cases.forEach((c, i) => {
      const got = ours(c);
      const want = expected[i]!;
      expect(got.auc).toBeCloseTo(want.auc, 3);
      expect(got.ap).toBeCloseTo(want.ap, 3);
      expect(got.cp).toBeCloseTo(want.cp, 3);
      expect(want.auc).toBeGreaterThan(0.6); // the fixed data is informative, so agreement is not trivial
    });
    const wrong = ours(planted);
    const right = expected[0]!;
    expect(wrong.auc).toBeCloseTo(expected[2]!.auc, 3);
    expect(wrong.ap).toBeCloseTo(expected[2]!.ap, 3);
    expect(wrong.cp).toBeCloseTo(expected[2]!.cp, 3);
    expect(Math.abs(wrong.auc - right.auc)).toBeGreaterThan(0.05);
    expect(Math.abs(wrong.ap - right.ap)).toBeGreaterThan(0.01);
    expect(Math.abs(wrong.cp - right.cp)).toBeGreaterThan(0.005);
  }, 60_000);
});
