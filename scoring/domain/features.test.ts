import { aFraudLabel, aTransaction } from '../testing/transactions.js';
import { SyntheticTraffic } from '../../model-lab/training/synthetic.js';
import { FEATURE_COUNT, fi } from './feature-names.js';
import { FeatureEngine, type FeatureEngineSnapshot, haversineKm } from './features.js';

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

  test('structuring: cash deposits of 8,000–9,999.99 are counted over 7 days', () => {
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

  test('a snapshot from another feature layout is refused', () => {
    const snapshot = { ...new FeatureEngine().snapshot(), featureNames: ['amount'] };
    expect(() => new FeatureEngine().restore(snapshot)).toThrow(/another feature layout/);
  });
});
