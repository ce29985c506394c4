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
