import { aFraudLabel, aTransaction } from '../testing/transactions.js';
import { SyntheticTraffic } from '../../model-lab/training/synthetic.js';
import { FEATURES, FEATURE_COUNT, fi } from './feature-names.js';
import { FeatureEngine, type FeatureEngineSnapshot, haversineKm } from './features.js';
import { ReportingCurrency, compileFxRates } from './fx-rates.js';

const T0 = Date.UTC(2024, 0, 1, 10, 0, 0); // Monday 10:00 UTC, aligned to every bucket width
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (offsetMs: number, overrides: Parameters<typeof aTransaction>[0] = {}) =>
  aTransaction({ eventTimeMs: T0 + offsetMs, ...overrides });
const value = (features: Float32Array, name: string): number => features[fi(name)]!;

describe('FeatureEngine windows (event time)', () => {
  test('given a card transaction at T0, when another comes 1 h − 1 ms later, then both are in the 1 h window', () => {
    const engine = new FeatureEngine();
    engine.observe(at(0));
    const features = engine.observe(at(HOUR - 1));
    expect(value(features, 'card_count_1h')).toBe(2);
    expect(value(features, 'card_sum_1h')).toBeCloseTo(50);
  });

  test('given a card transaction at T0, when another comes exactly 1 h later, then the first has left the 1 h window but not the 24 h one', () => {
    const engine = new FeatureEngine();
    engine.observe(at(0));
    const features = engine.observe(at(HOUR));
    expect(value(features, 'card_count_1h')).toBe(1);
    expect(value(features, 'card_count_24h')).toBe(2);
  });

  test('given transactions on day 0, then they count for 30 days and leave the 30 d window on day 30 (UTC day buckets)', () => {
    const engine = new FeatureEngine();
    engine.observe(at(0));
    const day29 = engine.observe(at(29 * DAY + 13 * HOUR)); // 23:00 on day 29
    expect(value(day29, 'cust_count_30d')).toBe(2);
    expect(value(day29, 'cust_count_7d')).toBe(1);
    const day30 = engine.observe(at(30 * DAY - 10 * HOUR)); // 00:00 on day 30
    expect(value(day30, 'cust_count_30d')).toBe(2); // day 29 and day 30; day 0 expired
  });

  test('wall clock plays no part: the same stream replayed gives the same features', () => {
    const run = () => {
      const engine = new FeatureEngine();
      return [0, 10 * MIN, 3 * HOUR, 2 * DAY].map((t, i) =>
        Array.from(engine.observe(at(t, { transactionId: `t${i}` }))),
      );
    };
    expect(run()).toEqual(run());
  });
});

describe('FeatureEngine customer history', () => {
  test('amount vs history: ratio to mean and z-score use the history before the transaction', () => {
    const engine = new FeatureEngine();
    for (const [i, minor] of [1_000n, 3_000n, 2_000n].entries()) engine.observe(at(i * HOUR, { amountMinor: minor }));
    const features = engine.observe(at(4 * HOUR, { amountMinor: 12_000n }));
    expect(value(features, 'cust_history_count')).toBe(3);
    expect(value(features, 'cust_amount_ratio_to_mean')).toBeCloseTo(6); // 120 / mean 20
    expect(value(features, 'cust_amount_zscore')).toBeCloseTo(10); // (120 − 20) / sd 10
    expect(value(features, 'cust_seconds_since_prev')).toBe(2 * 3600);
  });

  test('first-time device: a new device on a known customer is flagged once; the very first transaction is not', () => {
    const engine = new FeatureEngine();
    expect(value(engine.observe(at(0, { deviceId: 'dev-A' })), 'cust_new_device')).toBe(0);
    expect(value(engine.observe(at(MIN, { deviceId: 'dev-A' })), 'cust_new_device')).toBe(0);
    const newDevice = engine.observe(at(2 * MIN, { deviceId: 'dev-B' }));
    expect(value(newDevice, 'cust_new_device')).toBe(1);
    expect(value(newDevice, 'cust_known_devices')).toBe(2);
    expect(value(engine.observe(at(3 * MIN, { deviceId: 'dev-B' })), 'cust_new_device')).toBe(0);
  });

  test('first-time counterparty: a new terminal for a known customer is flagged', () => {
    const engine = new FeatureEngine();
    engine.observe(at(0, { terminalId: 'term-1' }));
    expect(value(engine.observe(at(MIN, { terminalId: 'term-2' })), 'cust_new_counterparty')).toBe(1);
    expect(value(engine.observe(at(2 * MIN, { terminalId: 'term-1' })), 'cust_new_counterparty')).toBe(0);
  });

  test('geo velocity: London then Paris 30 minutes later is ~690 km/h', () => {
    const engine = new FeatureEngine();
    engine.observe(at(0, { latitude: 51.5074, longitude: -0.1278 }));
    engine.observe(at(10 * MIN)); // no location: does not move the customer
    const features = engine.observe(at(30 * MIN, { latitude: 48.8566, longitude: 2.3522 }));
    const km = haversineKm(51.5074, -0.1278, 48.8566, 2.3522);
    expect(km).toBeCloseTo(343.5, 0);
    expect(value(features, 'cust_geo_distance_km')).toBeCloseTo(km, 0);
    expect(value(features, 'cust_geo_velocity_kmh')).toBeCloseTo(km * 2, 0);
  });

  test('structuring: EUR cash deposits of 8,000–9,999.99 are counted over 7 days', () => {
    const engine = new FeatureEngine();
    const deposit = (t: number, minor: bigint) =>
      at(t, { channel: 'CASH', kind: 'DEPOSIT', card: null, amountMinor: minor });
    engine.observe(deposit(0, 950_000n));
    engine.observe(deposit(DAY, 1_000_000n)); // exactly 10,000: reportable, not "just under"
    const features = engine.observe(deposit(2 * DAY, 990_000n));
    expect(value(features, 'cust_cash_near_10k_count_7d')).toBe(2);
    expect(value(features, 'cust_cash_near_10k_sum_7d')).toBeCloseTo(19_400);
  });
});

describe('FeatureEngine amounts in the reporting currency (EUR at the shipped ECB snapshot)', () => {
  const AMOUNT_FEATURES = FEATURES.filter((d) => d.unit === 'amount').map((d) => d.name);
  const DERIVED = ['cust_amount_ratio_to_mean', 'cust_amount_zscore'];
  /** One customer's history then a large payment, every amount in `currency` at `scale` × the EUR cents given. */
  const stream = (currency: string, scale: bigint, divisor = 1n) => {
    const engine = new FeatureEngine();
    const minor = (cents: bigint) => (cents * scale) / divisor;
    for (const [i, cents] of [1_000n, 3_000n, 2_000n, 900_000n].entries())
      engine.observe(
        at(i * HOUR, { channel: 'CASH', kind: 'DEPOSIT', card: null, currency, amountMinor: minor(cents) }),
      );
    const last = engine.observe(at(4 * HOUR, { currency, amountMinor: minor(120_000n) }));
    return Object.fromEntries([...AMOUNT_FEATURES, ...DERIVED].map((name) => [name, value(last, name)]));
  };

  test('the amount features are the ones that carry money: sums, means, the amount and the structuring sum', () => {
    expect(AMOUNT_FEATURES).toEqual([
      'amount',
      'card_sum_1h',
      'card_sum_24h',
      'card_sum_7d',
      'card_sum_30d',
      'cust_sum_1h',
      'cust_sum_24h',
      'cust_sum_7d',
      'cust_sum_30d',
      'cust_mean_amount_24h',
      'cust_mean_amount_7d',
      'cust_mean_amount_30d',
      'cust_cash_near_10k_sum_7d',
    ]);
  });

  test('¥16,164 is €100.00 at 161.64: the same money gives the same value in every amount feature', () => {
    // JPY has no minor unit: EUR cents × 161.64 = yen (every amount here is a whole number of yen).
    expect(stream('JPY', 16_164n, 10_000n)).toEqual(stream('EUR', 1n));
  });

  test('¥1,000 no longer counts like €1,000: every amount feature of the yen stream is 161.64 times smaller', () => {
    const yen = stream('JPY', 1n, 100n); // the same numbers in major units, now yen
    const euro = stream('EUR', 1n);
    // The control: in raw major units (as before) these two streams were identical in every feature below.
    const differing = AMOUNT_FEATURES.filter(
      (name) => name !== 'cust_cash_near_10k_sum_7d' && yen[name] !== euro[name],
    );
    expect(differing).toEqual(AMOUNT_FEATURES.filter((name) => name !== 'cust_cash_near_10k_sum_7d'));
    expect(yen['amount']).toBeCloseTo(1_200 / 161.64, 2);
    expect(euro['amount']).toBe(1_200);
    // Scale-free features stay what they were; the EUR deposit of 9,000 is structuring, the ¥9,000 one is not.
    expect([
      yen['cust_amount_ratio_to_mean'],
      yen['cust_cash_near_10k_sum_7d'],
      euro['cust_cash_near_10k_sum_7d'],
    ]).toEqual([expect.closeTo(euro['cust_amount_ratio_to_mean']!, 1), 0, 9_000]);
  });

  test('card testing counts payments under 10 EUR: a ¥1,000 card-not-present probe is small, a €1,000 one is not', () => {
    const probes = (currency: string, amountMinor: bigint) => {
      const engine = new FeatureEngine();
      const cnp = { currency, amountMinor, card: { token: 'tok-1', bin: '411111', last4: '1111', present: false } };
      let last: Float32Array = new Float32Array(FEATURE_COUNT);
      for (let i = 0; i < 4; i++) last = engine.observe(at(i * MIN, cnp));
      return value(last, 'card_cnp_small_count_1h');
    };
    expect([probes('JPY', 1_000n), probes('EUR', 100_000n), probes('EUR', 999n), probes('EUR', 1_000n)]).toEqual([
      4, 0, 4, 0,
    ]);
  });

  test('the structuring window is per currency, exact in its minor units, one unit either side of each edge', () => {
    const counted = (currency: string, amountMinor: bigint) =>
      value(
        new FeatureEngine().observe(at(0, { channel: 'CASH', kind: 'DEPOSIT', card: null, currency, amountMinor })),
        'cust_cash_near_10k_count_7d',
      );
    const edges = (currency: string, from: bigint, to: bigint) =>
      [from - 1n, from, to - 1n, to].map((minor) => counted(currency, minor));
    expect({
      USD: edges('USD', 800_000n, 1_000_000n),
      GBP: edges('GBP', 800_000n, 1_000_000n),
      EUR: edges('EUR', 800_000n, 1_000_000n),
      // No threshold of its own: €10,000 at 161.64 = ¥1,616,400; ¥9,500 ("just under 10,000" in raw units) is not.
      JPY: edges('JPY', 1_293_120n, 1_616_400n),
      JPY_9500: counted('JPY', 9_500n),
    }).toEqual({ USD: [0, 1, 1, 0], GBP: [0, 1, 1, 0], EUR: [0, 1, 1, 0], JPY: [0, 1, 1, 0], JPY_9500: 0 });
  });

  test('a deposit just under USD 10,000 adds its EUR value to the structuring sum', () => {
    const features = new FeatureEngine().observe(
      at(0, { channel: 'CASH', kind: 'DEPOSIT', card: null, currency: 'USD', amountMinor: 950_000n }),
    );
    // $9,500 / 1.0495 = €9,051.929… → 9,051.93.
    expect([value(features, 'amount'), value(features, 'cust_cash_near_10k_sum_7d')]).toEqual([
      Math.fround(9_051.93),
      Math.fround(9_051.93),
    ]);
  });

  test('the settlement amount is what converts when the payer is debited in another currency', () => {
    const features = new FeatureEngine().observe(
      at(0, { currency: 'USD', amountMinor: 10_495n, settlement: { amountMinor: 8_347n, currency: 'GBP' } }),
    );
    // £83.47 / 0.83465 = €100.0060 → 100.01.
    expect(value(features, 'amount')).toBe(Math.fround(100.01));
  });

  test('a currency without a rate: amount features in its own major units, counted and reported, never silently', () => {
    const told: string[] = [];
    const engine = new FeatureEngine({ onAmountWithoutRate: (currency) => told.push(currency) });
    const kwd = engine.observe(at(0, { currency: 'KWD', amountMinor: 1_500n }));
    engine.observe(at(MIN, { currency: 'KWD', amountMinor: 1_500n }));
    const eur = engine.observe(at(2 * MIN, { currency: 'EUR', amountMinor: 1_500n }));
    expect([value(kwd, 'amount'), value(eur, 'amount'), told, [...engine.amountsWithoutRate()]]).toEqual([
      1.5,
      15,
      ['KWD', 'KWD'],
      [['KWD', 2]],
    ]);
  });

  test('another reporting currency: with USD, $1,000 is 1,000 and €1,000 is 1,049.50', () => {
    const usd = new ReportingCurrency(
      compileFxRates({ source: 't', date: '2024-11-25', base: 'EUR', rates: { USD: '1.0495' } }),
      'USD',
    );
    const engine = new FeatureEngine({ reporting: usd });
    expect([
      value(engine.observe(at(0, { currency: 'USD', amountMinor: 100_000n })), 'amount'),
      value(engine.observe(at(MIN, { currency: 'EUR', amountMinor: 100_000n })), 'amount'),
    ]).toEqual([1_000, Math.fround(1_049.5)]);
  });
});

describe('FeatureEngine terminal fraud ratio from delayed labels', () => {
  test('given a fraud at a terminal on day 0, its label counts only once received (day 7), in the windows ending 7 days back', () => {
    const engine = new FeatureEngine();
    const fraud = at(0, { transactionId: 'fraud-1', customerId: 'c1', card: null });
    engine.observe(fraud);
    engine.observe(at(HOUR, { customerId: 'c2', card: null }));

    const beforeLabel = engine.observe(at(7 * DAY + HOUR, { customerId: 'c3', card: null }));
    expect(value(beforeLabel, 'term_count_1d_delay7')).toBe(2);
    expect(value(beforeLabel, 'term_risk_1d_delay7')).toBe(0);

    engine.applyLabel(aFraudLabel(fraud, T0 + 7 * DAY + 2 * HOUR));
    engine.applyLabel(aFraudLabel(fraud, T0 + 7 * DAY + 2 * HOUR)); // redelivered: counts once
    const afterLabel = engine.observe(at(7 * DAY + 3 * HOUR, { customerId: 'c4', card: null }));
    expect(value(afterLabel, 'term_risk_1d_delay7')).toBeCloseTo(0.5);
    expect(value(afterLabel, 'term_risk_7d_delay7')).toBeCloseTo(0.5);
    expect(value(afterLabel, 'term_fraud_ratio_30d')).toBeCloseTo(1 / 4);
  });
});

describe('FeatureEngine snapshot / restore', () => {
  test('a restored engine computes exactly the features the original would have', () => {
    const traffic = new SyntheticTraffic({
      seed: 7,
      startTimeMs: T0,
      customers: 60,
      terminals: 40,
      activity: [{ share: 1, minPerDay: 2, maxPerDay: 20 }],
      fraudScale: 20,
    });
    const history = traffic.take(3_000);
    const future = traffic.take(1_000);
    const original = new FeatureEngine();
    history.forEach(({ transaction }, i) => {
      original.observe(transaction);
      if (history[i]!.fraud) original.applyLabel(aFraudLabel(transaction, transaction.eventTimeMs));
    });
    const snapshot: FeatureEngineSnapshot = structuredClone(original.snapshot());
    const restored = new FeatureEngine();
    restored.restore(snapshot);

    const a = new Float32Array(future.length * FEATURE_COUNT);
    const b = new Float32Array(future.length * FEATURE_COUNT);
    future.forEach(({ transaction }, i) => {
      original.observeInto(transaction, a, i * FEATURE_COUNT);
      restored.observeInto(transaction, b, i * FEATURE_COUNT);
    });
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(restored.stats()).toEqual(original.stats());
  });

  test('a snapshot of amounts in another reporting currency is refused; one in the same currency, or older, is not', () => {
    const usd = new ReportingCurrency(
      compileFxRates({ source: 't', date: '2024-11-25', base: 'EUR', rates: { USD: '1.0495' } }),
      'USD',
    );
    const inEur = new FeatureEngine().snapshot();
    const { reportingCurrency, ...older } = inEur;
    expect(reportingCurrency).toBe('EUR');
    expect(() => new FeatureEngine({ reporting: usd }).restore(inEur)).toThrow(
      'feature snapshot holds amounts in EUR, this engine measures in USD',
    );
    expect(() => new FeatureEngine().restore(inEur)).not.toThrow();
    expect(() => new FeatureEngine({ reporting: usd }).restore(older)).not.toThrow();
  });

  test('a snapshot from another feature layout is refused', () => {
    const snapshot = { ...new FeatureEngine().snapshot(), featureNames: ['amount'] };
    expect(() => new FeatureEngine().restore(snapshot)).toThrow(/another feature layout/);
  });
});
