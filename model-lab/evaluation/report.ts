import type { EvaluationReport } from './run.js';

/** ML-EVAL.md's published test-set results (ROC AUC / AP / CP@100) for the handbook's models. */
export const PUBLISHED_BASELINES: ReadonlyArray<{
  readonly model: string;
  readonly singleSplit: readonly [number, number, number];
  readonly prequential: readonly [number, number, number] | null;
}> = [
  { model: 'logistic regression', singleSplit: [0.871, 0.606, 0.291], prequential: [0.868, 0.623, 0.297] },
  { model: 'random forest', singleSplit: [0.867, 0.658, 0.287], prequential: [0.87, 0.678, 0.299] },
  { model: 'XGBoost', singleSplit: [0.862, 0.639, 0.273], prequential: [0.869, 0.687, 0.303] },
  { model: 'feed-forward neural net', singleSplit: [0.864, 0.653, 0.286], prequential: [0.876, 0.675, 0.303] },
  { model: 'random scores', singleSplit: [0.5, 0.007, 0.017], prequential: null },
];

/** The metrics beside the published baselines of the same protocol, as a plain-text table. */
export function formatComparison(report: EvaluationReport): string {
  const prequential = report.protocol === 'prequential';
  const pm = (mean: number, std: number): string =>
    prequential ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean.toFixed(3);
  const width = prequential ? 15 : 7;
  const line = (name: string, cells: readonly string[]): string =>
    `${name.padEnd(32)}${cells.map((c) => c.padStart(width + 2)).join('')}`;
  const lines = [
    `${report.protocol} (test set; published values are the handbook's)`,
    line('model', ['ROC AUC', 'AP', 'CP@100']),
    line(report.components === undefined ? 'Vigil (FeatureEngine + TF.js)' : 'Vigil (network + trees blend)', [
      pm(report.auc_roc, report.auc_roc_std),
      pm(report.average_precision, report.average_precision_std),
      pm(report.card_precision_at_100, report.card_precision_at_100_std),
    ]),
  ];
  for (const [name, part] of Object.entries(report.components ?? {}))
    lines.push(
      line(`  ${name} alone`, [
        pm(part.auc_roc, part.std.auc_roc),
        pm(part.average_precision, part.std.average_precision),
        pm(part.card_precision_at_100, part.std.card_precision_at_100),
      ]),
    );
  for (const baseline of PUBLISHED_BASELINES) {
    const values = prequential ? baseline.prequential : baseline.singleSplit;
    lines.push(line(`published ${baseline.model}`, values ? values.map((v) => v.toFixed(3)) : ['—', '—', '—']));
  }
  return lines.join('\n');
}
