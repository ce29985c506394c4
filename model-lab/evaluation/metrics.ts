/**
 * Ranking metrics for fraud models, as ML-EVAL.md specifies: ROC AUC (ties counted half) and average
 * precision as scikit-learn computes it — the step-wise sum Σ (Rₙ − Rₙ₋₁)·Pₙ over distinct score thresholds,
 * not a trapezoidal area.
 */
function order(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
}

export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = order(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]! > 0 ? 1 : 0;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  // Rank-sum (Mann–Whitney U) with average ranks for ties, ranks ascending from the lowest score.
  let rankSumPositives = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = idx.length - (i + j) / 2;
    for (let k = i; k <= j; k++) if (labels[idx[k]!]! > 0) rankSumPositives += avgRank;
    i = j + 1;
  }
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = order(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]! > 0 ? 1 : 0;
  if (positives === 0) return NaN;
  let truePositives = 0;
  let ap = 0;
  let lastRecall = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    for (let k = i; k <= j; k++) truePositives += labels[idx[k]!]! > 0 ? 1 : 0;
    const recall = truePositives / positives;
    ap += (recall - lastRecall) * (truePositives / (j + 1));
    lastRecall = recall;
    i = j + 1;
  }
  return ap;
}

/** Card precision@k over the test days, with each day's value (ML-EVAL.md; the handbook's `card_precision_top_k`). */
export interface CardPrecision {
  readonly mean: number;
  readonly perDay: readonly { readonly day: number; readonly precision: number; readonly compromisedCards: number }[];
}

/**
 * Card precision@k: for each day (ascending), every card's score is its highest score that day and its label
 * whether it had any fraud that day; cards are ranked by score (ties by card id, ascending) and the top `k`
 * taken; the day's precision is (frauds among them) / k. Cards detected that way — in a day's top k with a
 * fraud — are dropped from later days, as an investigated and blocked card would be. The result is the mean
 * over days. `cards` and `days` are per transaction (card id, whole day number).
 */
export function cardPrecisionAtK(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  cards: ArrayLike<number>,
  days: ArrayLike<number>,
  k = 100,
): CardPrecision {
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < days.length; i++) {
    const list = byDay.get(days[i]!);
    if (list) list.push(i);
    else byDay.set(days[i]!, [i]);
  }
  const detected = new Set<number>();
  const perDay: { day: number; precision: number; compromisedCards: number }[] = [];
  for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
    const best = new Map<number, { score: number; fraud: boolean }>();
    for (const i of byDay.get(day)!) {
      const card = cards[i]!;
      if (detected.has(card)) continue;
      const entry = best.get(card);
      const fraud = labels[i]! > 0;
      if (entry) {
        if (scores[i]! > entry.score) entry.score = scores[i]!;
        entry.fraud ||= fraud;
      } else best.set(card, { score: scores[i]!, fraud });
    }
    const ranked = [...best].sort((a, b) => b[1].score - a[1].score || a[0] - b[0]);
    let hits = 0;
    for (const [card, { fraud }] of ranked.slice(0, k)) {
      if (!fraud) continue;
      hits++;
      detected.add(card);
    }
    let compromisedCards = 0;
    for (const { fraud } of best.values()) compromisedCards += fraud ? 1 : 0;
    perDay.push({ day, precision: hits / k, compromisedCards });
  }
  const mean = perDay.length === 0 ? NaN : perDay.reduce((sum, d) => sum + d.precision, 0) / perDay.length;
  return { mean, perDay };
}
