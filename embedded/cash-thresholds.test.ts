import { readDashboardsConfig } from '../dashboards/config.js';
import type { Env } from '../platform/config.js';
import { readScoringConfig } from '../scoring/config.js';
import { compileFxRates, ReportingCurrency } from '../scoring/domain/fx-rates.js';
import { REFERENCE_FX_RATES } from '../scoring/domain/reference-fx-rates.js';
import { type JustUnderBand, justUnderBand } from '../schemas/cash-thresholds.js';

/**
 * Scoring's structuring features and the dashboards' cash report judge "just under the reporting threshold" per
 * currency; given one environment (as the embedded default gives every stage), they must cut the same band.
 */
describe('scoring and the cash report agree on what is just under the threshold', () => {
  const table = compileFxRates(REFERENCE_FX_RATES);
  /** Per currency the report analyses: [the report's band, scoring's window] under `env`. */
  const bands = (env: Env, scoring = scoringReporting(env)): Array<[string, JustUnderBand, JustUnderBand | null]> =>
    [...readDashboardsConfig(env).cashThresholds].map(([currency, threshold]) => [
      currency,
      justUnderBand(threshold),
      scoring.cashWindow(currency),
    ]);
  const scoringReporting = (env: Env): ReportingCurrency => {
    const config = readScoringConfig(env);
    return new ReportingCurrency(table, config.reportingCurrency, config.cashThresholds);
  };
  const disagreeing = (env: Env, scoring?: ReportingCurrency): string[] =>
    bands(env, scoring)
      .filter(([, report, features]) => features?.fromMinor !== report.fromMinor || features.toMinor !== report.toMinor)
      .map(([currency]) => currency);

  test.each<Env>([
    {},
    { VIGIL_CASH_THRESHOLDS: 'EUR:15000,JPY:1616401,KWD:3000.5' },
    { VIGIL_DASHBOARDS_CASH_THRESHOLDS: 'USD:3000' },
  ])('under %j every analysed currency has the same band in both', (env) => {
    expect(disagreeing(env)).toEqual([]);
  });

  test('negative control: scoring with its thresholds fixed, as it was, disagrees once the setting changes them', () => {
    const env = { VIGIL_CASH_THRESHOLDS: 'EUR:15000,USD:10000' };
    expect(disagreeing(env, new ReportingCurrency(table, 'EUR', undefined))).toEqual(['EUR']);
  });
});
