import { ConfigError } from '../platform/errors.js';
import { readScoringConfig } from './config.js';

describe('scoring config: the reporting currency and the rate file', () => {
  test('defaults: EUR at the shipped rate table', () => {
    const config = readScoringConfig({});
    expect([config.reportingCurrency, config.fxRatesFile]).toEqual(['EUR', undefined]);
  });

  test('an ISO 4217 code is taken, anything else refused naming the key', () => {
    expect(
      readScoringConfig({ VIGIL_REPORTING_CURRENCY: 'USD', VIGIL_FX_RATES_FILE: '/etc/rates.json' }),
    ).toMatchObject({ reportingCurrency: 'USD', fxRatesFile: '/etc/rates.json' });
    for (const bad of ['usd', 'XXX', 'EURO'])
      expect(() => readScoringConfig({ VIGIL_REPORTING_CURRENCY: bad })).toThrow(ConfigError);
    expect(() => readScoringConfig({ VIGIL_REPORTING_CURRENCY: 'XXX' })).toThrow(/VIGIL_REPORTING_CURRENCY="XXX"/);
  });
});
