import type { ShadowPairReport, ShadowSideReport } from '../../schemas/api.js';
import type { Decision } from '../../schemas/generated/types.js';

/** The decisions in the order the 3×3 agreement matrix lists them. */
export const DECISIONS: readonly Decision[] = ['APPROVE', 'REVIEW', 'DECLINE'];

/**
 * The exact counts the report query gives for one version pair. Every number is a count of transactions; the rates
 * are derived from them here, so the report never rounds a count.
 */
export interface ShadowPairCounts {
  readonly championModelVersion: string;
  readonly championRulesVersion: string;
  readonly challengerModelVersion: string;
  readonly challengerRulesVersion: string;
  readonly transactions: number;
  readonly labelled: number;
  readonly labelledFraud: number;
  /** cells[champion][challenger]: transactions decided so by each side. */
  readonly cells: Readonly<Record<Decision, Readonly<Record<Decision, number>>>>;
  readonly champion: SideCounts;
  readonly challenger: SideCounts;
}

/** One side's counts on the labelled transactions (alert = REVIEW or DECLINE). */
export interface SideCounts {
  /** Alerted, labelled FRAUD. */
  readonly truePositives: number;
  /** Alerted, labelled GENUINE. */
  readonly falsePositives: number;
  /** Approved, labelled FRAUD. */
  readonly falseNegatives: number;
}

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/**
 * Champion against challenger for one version pair: alert counts and rates read off the matrix's rows (champion)
 * and columns (challenger), agreement off its diagonal, precision and recall off the labelled counts. Throws when
 * the counts contradict each other (the matrix does not sum to the transactions, or more labelled outcomes than
 * labels), which only a wrong query can produce.
 */
export function shadowPairReport(counts: ShadowPairCounts): ShadowPairReport {
  const { cells, transactions } = counts;
  let total = 0;
  let agreeing = 0;
  let championAlerts = 0;
  let challengerAlerts = 0;
  for (const champion of DECISIONS)
    for (const challenger of DECISIONS) {
      const n = cells[champion][challenger];
      total += n;
      if (champion === challenger) agreeing += n;
      if (champion !== 'APPROVE') championAlerts += n;
      if (challenger !== 'APPROVE') challengerAlerts += n;
    }
  if (total !== transactions)
    throw new Error(`shadow report: the decision matrix sums to ${total}, not to ${transactions} transactions`);
  for (const [name, side] of [
    ['champion', counts.champion],
    ['challenger', counts.challenger],
  ] as const)
    if (
      side.truePositives + side.falseNegatives !== counts.labelledFraud ||
      side.truePositives + side.falsePositives > counts.labelled
    )
      throw new Error(`shadow report: the ${name}'s labelled counts do not add up to the labels`);
  const side = (alerts: number, c: SideCounts): ShadowSideReport => ({
    alerts,
    alertRate: ratio(alerts, transactions),
    truePositives: c.truePositives,
    falsePositives: c.falsePositives,
    falseNegatives: c.falseNegatives,
    precision: ratio(c.truePositives, c.truePositives + c.falsePositives),
    recall: ratio(c.truePositives, counts.labelledFraud),
  });
  return {
    champion: { modelVersion: counts.championModelVersion, rulesVersion: counts.championRulesVersion },
    challenger: { modelVersion: counts.challengerModelVersion, rulesVersion: counts.challengerRulesVersion },
    transactions,
    labelled: counts.labelled,
    labelledFraud: counts.labelledFraud,
    championSide: side(championAlerts, counts.champion),
    challengerSide: side(challengerAlerts, counts.challenger),
    agreeing,
    agreementRate: ratio(agreeing, transactions),
    matrix: cells,
  };
}
