import { ConfigError } from '../platform/errors.js';
import {
  CASH_THRESHOLDS_KEY,
  FORMER_CASH_THRESHOLDS_KEY,
  defaultCashThresholds,
  justUnderBand,
  readCashThresholds,
} from './cash-thresholds.js';

describe('cash reporting thresholds, one setting for scoring and the dashboards', () => {
  test('default EUR, GBP and USD 10,000; the setting, or its former name, replaces them whole', () => {
    const tenThousand = 1_000_000n;
    expect([...defaultCashThresholds()]).toEqual([
      ['EUR', tenThousand],
      ['GBP', tenThousand],
      ['USD', tenThousand],
    ]);
    expect([...readCashThresholds({})]).toEqual([...defaultCashThresholds()]);
    expect([...readCashThresholds({ [CASH_THRESHOLDS_KEY]: 'JPY:1000000, KWD:3000.5' })]).toEqual([
      ['JPY', 1_000_000n],
      ['KWD', 3_000_500n],
    ]);
    expect([...readCashThresholds({ [FORMER_CASH_THRESHOLDS_KEY]: 'EUR:15000' })]).toEqual([['EUR', 1_500_000n]]);
  });

  test.each([
    [{ [CASH_THRESHOLDS_KEY]: 'EUR:10000', [FORMER_CASH_THRESHOLDS_KEY]: 'EUR:10000' }, FORMER_CASH_THRESHOLDS_KEY],
    [{ [CASH_THRESHOLDS_KEY]: 'EUR:0' }, CASH_THRESHOLDS_KEY],
    [{ [CASH_THRESHOLDS_KEY]: 'JPY:100.5' }, CASH_THRESHOLDS_KEY],
    [{ [CASH_THRESHOLDS_KEY]: 'EUR:-1' }, CASH_THRESHOLDS_KEY],
    [{ [FORMER_CASH_THRESHOLDS_KEY]: 'EUR:1,EUR:2' }, FORMER_CASH_THRESHOLDS_KEY],
  ])('%j is refused naming %s', (env, key) => {
    expect(() => readCashThresholds(env)).toThrow(ConfigError);
    expect(() => readCashThresholds(env)).toThrow(key);
  });

  test('"just under" starts at exactly 80 % of the threshold, to the minor unit', () => {
    // ¥1,616,401 × 0.8 = ¥1,293,120.8: ¥1,293,120 is under 80 %, ¥1,293,121 the first amount in the band.
    const band = justUnderBand(1_616_401n);
    const inBand = (minor: bigint): boolean => minor >= band.fromMinor && minor < band.toMinor;
    const atLeast80Percent = (minor: bigint, threshold: bigint): boolean => minor * 100n >= threshold * 80n;
    expect([band, inBand(1_293_120n), inBand(1_293_121n), inBand(1_616_400n), inBand(1_616_401n)]).toEqual([
      { fromMinor: 1_293_121n, toMinor: 1_616_401n },
      false,
      true,
      true,
      false,
    ]);
    expect(atLeast80Percent(band.fromMinor, 1_616_401n) && !atLeast80Percent(band.fromMinor - 1n, 1_616_401n)).toBe(
      true,
    );
    // Negative control: scoring's former cut, ⌊threshold × 80 / 100⌋, let in an amount under 80 %, and the check sees it.
    const formerFrom = (1_616_401n * 80n) / 100n;
    expect(atLeast80Percent(formerFrom, 1_616_401n)).toBe(false);
    expect([justUnderBand(1_000_000n), justUnderBand(1_000_000n, 50)]).toEqual([
      { fromMinor: 800_000n, toMinor: 1_000_000n },
      { fromMinor: 500_000n, toMinor: 1_000_000n },
    ]);
  });
});
