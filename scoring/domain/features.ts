import type { AnalystLabel, Transaction } from '../../schemas/generated/types.js';
import { minorUnitExponent } from '../../schemas/currencies.js';
import type { ReportingCurrency } from './fx-rates.js';
import { defaultReportingCurrency } from './reference-fx-rates.js';
import { type AmountCurrencies, FEATURE_COUNT, FEATURE_NAMES, fi } from './feature-names.js';
import { SlotTable, type SlotTableChanges, type SlotTableSnapshot, hash32 } from './keyed-state.js';

/**
 * Streaming features in EVENT time: every window is anchored at the transaction's `eventTimeMs`, never the
 * wall clock, so a live stream and an offline replay of the same transactions produce the same features.
 * `observe` computes a transaction's features and folds it into the state in one step; the live stage and
 * the offline evaluation replay both drive this class.
 *
 * Windows are bucketed rings (see keyed-state.ts): 1 h = 12 five-minute buckets, 24 h = 24 hourly buckets,
 * 7 d / 30 d = daily buckets (UTC days). A window's resolution is its bucket width — a "1 h" window holds the
 * current five-minute bucket and the 11 before it. Window counts and sums include the current transaction;
 * amount-versus-history features compare it with the history before it.
 */
export type FeatureVector = Float32Array;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FIVE_MIN = 5 * MINUTE;

/** Missing "time since previous" reads as this (30 days), so it sits at the far end of the scale. */
const NO_PREVIOUS_SECONDS = 30 * 86_400;
/** Card-testing probes are tiny amounts: under 10 major units of the reporting currency. */
const SMALL_AMOUNT = 10;
const KNOWN_DEVICES = 8;
const KNOWN_COUNTERPARTIES = 32;
const DEVICE_CUSTOMERS = 8;
const LABEL_MEMORY = 200_000;
/**
 * Keys idle this long start again as new and may be evicted: the longest window (the terminal's 30 days ending 7
 * days back spans 38 days, 24 h buckets), so every ring of an idle key is stale; its all-time amount statistics,
 * known devices and counterparties and last location are forgotten with it, by design (bounded state).
 */
export const FEATURE_STATE_IDLE_MS = 38 * DAY;

// Customer slot: scalars, rings and hash cells.
const C_N = 0;
const C_MEAN = 1;
const C_M2 = 2;
const C_LAST_MS = 3;
const C_LAST_LAT = 4;
const C_LAST_LON = 5;
const C_LAST_LOC_MS = 6;
const C_DEVICE_CURSOR = 7;
const C_COUNTERPARTY_CURSOR = 8;
const customerLayout = {
  idleMs: FEATURE_STATE_IDLE_MS,
  scalars: 9,
  scalarDefaults: [0, 0, 0, -1, 0, 0, -1, 0, 0],
  rings: [
    { bucketMs: FIVE_MIN, buckets: 12, channels: 2 },
    { bucketMs: HOUR, buckets: 24, channels: 2 },
    { bucketMs: DAY, buckets: 30, channels: 2 },
    { bucketMs: DAY, buckets: 7, channels: 2 },
  ],
  hashes: KNOWN_DEVICES + KNOWN_COUNTERPARTIES,
};
const R_MIN = 0;
const R_HOUR = 1;
const R_DAY = 2;
const R_CASH = 3;
const COUNT = 0;
const SUM = 1;
const SMALL_CNP = 2;
const FRAUD = 1;

const cardLayout = {
  idleMs: FEATURE_STATE_IDLE_MS,
  scalars: 0,
  rings: [
    { bucketMs: FIVE_MIN, buckets: 12, channels: 3 },
    { bucketMs: HOUR, buckets: 24, channels: 2 },
    { bucketMs: DAY, buckets: 30, channels: 2 },
  ],
  hashes: 0,
};
/** Terminal day ring spans 38 days: 30-day windows ending 7 days back, plus today. */
const terminalLayout = {
  idleMs: FEATURE_STATE_IDLE_MS,
  scalars: 0,
  rings: [
    { bucketMs: FIVE_MIN, buckets: 12, channels: 1 },
    { bucketMs: HOUR, buckets: 24, channels: 1 },
    { bucketMs: DAY, buckets: 38, channels: 2 },
  ],
  hashes: 0,
};
const D_CUSTOMER_CURSOR = 0;
const deviceLayout = {
  idleMs: FEATURE_STATE_IDLE_MS,
  scalars: 1,
  rings: [
    { bucketMs: FIVE_MIN, buckets: 12, channels: 1 },
    { bucketMs: HOUR, buckets: 24, channels: 1 },
  ],
  hashes: DEVICE_CUSTOMERS,
};

/*
 * The amount the payer is debited: the settlement amount when present. Two accessors instead of one object, so the
 * per-transaction path allocates nothing (see observeInto).
 */
const debitedMinor = (tx: Transaction): bigint => tx.settlement?.amountMinor ?? tx.amountMinor;
const debitedCurrency = (tx: Transaction): string => tx.settlement?.currency ?? tx.currency;

/**
 * The amount the payer is debited (the settlement amount when present) in major units of the reporting currency,
 * converted exactly and rounded half to even to its minor unit; undefined when the rate table has no rate for the
 * debit currency.
 */
export function amountInReportingCurrency(tx: Transaction, reporting: ReportingCurrency): number | undefined {
  return reporting.toReportingMajor(debitedMinor(tx), debitedCurrency(tx));
}

/**
 * The currencies `tx`'s amount features are in (for its reasons): the reporting currency, and its debit currency when
 * that has no rate and its amount went in unconverted (see amountInOwnCurrency).
 */
export function amountCurrencies(tx: Transaction, reporting: ReportingCurrency): AmountCurrencies {
  const debited = debitedCurrency(tx);
  return { reporting: reporting.currency, unconverted: reporting.converts(debited) ? null : debited };
}

/** The debited amount in major units of its own currency: the fallback for a currency without a rate. */
function amountInOwnCurrency(tx: Transaction): number {
  return Number(debitedMinor(tx)) / 10 ** (minorUnitExponent(debitedCurrency(tx)) ?? 2);
}

/** The customer: the card holder, or the payer account when none is named. */
export function customerKey(tx: Transaction): string {
  return tx.customerId ?? tx.payerAccountId;
}

/** Key namespaces: a card token and a customer id, or a terminal, merchant and payee id, never collide. */
const NS_CARD = 0;
const NS_CARDLESS_CUSTOMER = 1;
const NS_TERMINAL = 0;
const NS_MERCHANT = 1;
const NS_PAYEE = 2;

/** Where the payment goes: the terminal, else the merchant, else (transfers) the payee account. */
function counterparty(tx: Transaction): { key: string; namespace: number } {
  if (tx.terminalId !== null) return { key: tx.terminalId, namespace: NS_TERMINAL };
  if (tx.merchantId !== null) return { key: tx.merchantId, namespace: NS_MERCHANT };
  return { key: tx.payeeAccountId, namespace: NS_PAYEE };
}

/** Great-circle distance in km (haversine, mean Earth radius 6,371 km). */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

export interface FeatureEngineSnapshot {
  readonly format: 'vigil.features.v1';
  readonly featureNames: readonly string[];
  /**
   * The currency the amounts in the state are in. Absent in snapshots written before amounts were converted (then
   * each amount was in its own currency); a snapshot in another currency than the engine's is refused.
   */
  readonly reportingCurrency?: string;
  readonly cards: SlotTableSnapshot;
  readonly customers: SlotTableSnapshot;
  readonly terminals: SlotTableSnapshot;
  readonly devices: SlotTableSnapshot;
  /** Transaction ids whose labels were applied (most recent last), so a redelivered label counts once. */
  readonly labelledTransactions: readonly string[];
}

/** What the engine changed since its last snapshot or `changes()` ({@link FeatureEngine.changes}). */
export interface FeatureEngineChanges {
  readonly format: 'vigil.features-changes.v1';
  readonly featureNames: readonly string[];
  readonly cards: SlotTableChanges;
  readonly customers: SlotTableChanges;
  readonly terminals: SlotTableChanges;
  readonly devices: SlotTableChanges;
  /** Transaction ids whose labels were applied since (most recent last). */
  readonly labelledTransactions: readonly string[];
}

const I = {
  amount: fi('amount'),
  isNight: fi('is_night'),
  isWeekend: fi('is_weekend'),
  chCard: fi('ch_card'),
  cardPresent: fi('card_present'),
  cardNotPresent: fi('card_not_present'),
  kindTransfer: fi('kind_transfer'),
  kindWithdrawal: fi('kind_withdrawal'),
  kindDeposit: fi('kind_deposit'),
  kindRefund: fi('kind_refund'),
  crossCurrency: fi('cross_currency'),
  cardCount1h: fi('card_count_1h'),
  cardCnpSmall1h: fi('card_cnp_small_count_1h'),
  custCount1h: fi('cust_count_1h'),
  custMean24h: fi('cust_mean_amount_24h'),
  custHistory: fi('cust_history_count'),
  custRatio: fi('cust_amount_ratio_to_mean'),
  custZ: fi('cust_amount_zscore'),
  custSincePrev: fi('cust_seconds_since_prev'),
  custNewDevice: fi('cust_new_device'),
  custNewCounterparty: fi('cust_new_counterparty'),
  custKnownDevices: fi('cust_known_devices'),
  custGeoKm: fi('cust_geo_distance_km'),
  custGeoKmh: fi('cust_geo_velocity_kmh'),
  custCashCount: fi('cust_cash_near_10k_count_7d'),
  custCashSum: fi('cust_cash_near_10k_sum_7d'),
  termCount1h: fi('term_count_1h'),
  termFraud30d: fi('term_fraud_ratio_30d'),
  termCountDelay: fi('term_count_1d_delay7'),
  termRiskDelay: fi('term_risk_1d_delay7'),
  devCount1h: fi('dev_count_1h'),
  devCustomers: fi('dev_customer_count'),
} as const;
const CHANNEL_OFFSET: Readonly<Record<Transaction['channel'], number>> = {
  CARD: 0,
  ACH: 1,
  SEPA: 2,
  WIRE: 3,
  WALLET: 4,
  P2P: 5,
  CASH: 6,
};

/** How a FeatureEngine measures money. */
export interface FeatureEngineOptions {
  /** The reporting currency and its rate table; default EUR at the shipped ECB snapshot (reference-fx-rates.ts). */
  readonly reporting?: ReportingCurrency;
  /**
   * Told of every transaction whose debit currency has no rate: its amount features fall back to major units of its
   * own currency (not comparable with the others), so the live stage counts it on a metric and logs it.
   */
  readonly onAmountWithoutRate?: (currency: string) => void;
}

export class FeatureEngine {
  /** The currency every amount feature is in, with the rates that bring the others to it. */
  readonly reporting: ReportingCurrency;
  private readonly onAmountWithoutRate: ((currency: string) => void) | undefined;
  /** Transactions whose amount features fell back to their own currency, per debit currency, since construction. */
  private readonly withoutRate = new Map<string, number>();
  private cards = new SlotTable(cardLayout, 2);
  private customers = new SlotTable(customerLayout);
  private terminals = new SlotTable(terminalLayout, 3);
  private devices = new SlotTable(deviceLayout);
  private labelled = new Set<string>();
  private labelOrder: string[] = [];
  /** Labels applied since the last snapshot or `changes()`. */
  private labelsSinceChanges = 0;
  /** Newest event time observed since construction (not snapshotted: eviction resumes with the first event). */
  private newestEventMs = Number.NEGATIVE_INFINITY;

  constructor(options: FeatureEngineOptions = {}) {
    this.reporting = options.reporting ?? defaultReportingCurrency();
    this.onAmountWithoutRate = options.onAmountWithoutRate;
  }

  /** Transactions whose debit currency had no rate (amount features in their own currency), per currency. */
  amountsWithoutRate(): ReadonlyMap<string, number> {
    return this.withoutRate;
  }

  /** Computes the features of `tx` (event time) and folds it into the state; returns a fresh vector. */
  observe(tx: Transaction): FeatureVector {
    const out = new Float32Array(FEATURE_COUNT);
    this.observeInto(tx, out, 0);
    return out;
  }

  /**
   * Like `observe`, writing the FEATURE_COUNT values into `out` at `offset` — the batch path fills one
   * (n × FEATURE_COUNT) array for the whole batch without allocating per transaction.
   */
  observeInto(tx: Transaction, out: Float32Array, offset: number): void {
    const t = tx.eventTimeMs;
    if (t > this.newestEventMs) this.newestEventMs = t;
    let amount = amountInReportingCurrency(tx, this.reporting);
    if (amount === undefined) {
      amount = amountInOwnCurrency(tx);
      const currency = debitedCurrency(tx);
      this.withoutRate.set(currency, (this.withoutRate.get(currency) ?? 0) + 1);
      this.onAmountWithoutRate?.(currency);
    }
    out.fill(0, offset, offset + FEATURE_COUNT);

    // The transaction itself. UTC calendar by arithmetic (no Date per transaction): 1970-01-01 was a Thursday.
    const dayNumber = Math.floor(t / DAY);
    const hour = Math.floor((t - dayNumber * DAY) / HOUR);
    const weekday = (((dayNumber + 4) % 7) + 7) % 7;
    out[offset + I.amount] = amount;
    out[offset + I.isNight] = hour <= 6 ? 1 : 0;
    out[offset + I.isWeekend] = weekday === 0 || weekday === 6 ? 1 : 0;
    out[offset + I.chCard + CHANNEL_OFFSET[tx.channel]] = 1;
    if (tx.card) out[offset + (tx.card.present ? I.cardPresent : I.cardNotPresent)] = 1;
    if (tx.kind === 'TRANSFER') out[offset + I.kindTransfer] = 1;
    else if (tx.kind === 'WITHDRAWAL') out[offset + I.kindWithdrawal] = 1;
    else if (tx.kind === 'DEPOSIT') out[offset + I.kindDeposit] = 1;
    else if (tx.kind === 'REFUND') out[offset + I.kindRefund] = 1;
    out[offset + I.crossCurrency] = tx.settlement !== null && tx.settlement.currency !== tx.currency ? 1 : 0;

    // Card.
    const cards = this.cards;
    const card = tx.card ? cards.slot(tx.card.token, NS_CARD, t) : cards.slot(customerKey(tx), NS_CARDLESS_CUSTOMER, t);
    const smallCnp = tx.card !== null && !tx.card.present && amount < SMALL_AMOUNT;
    this.addAmount(cards, card, t, amount, smallCnp);
    this.writeWindows(cards, card, t, out, offset + I.cardCount1h);
    out[offset + I.cardCnpSmall1h] = cards.sum(card, R_MIN, t, SMALL_CNP, 12);

    // Customer: history features first (they describe the past), then fold the transaction in.
    const customers = this.customers;
    const customer = customers.slot(customerKey(tx), 0, t);
    const n = customers.scalar(customer, C_N);
    const mean = customers.scalar(customer, C_MEAN);
    const m2 = customers.scalar(customer, C_M2);
    out[offset + I.custHistory] = n;
    out[offset + I.custRatio] = n >= 1 && mean > 0 ? amount / mean : 1;
    const std = n >= 2 ? Math.sqrt(m2 / (n - 1)) : 0;
    out[offset + I.custZ] = std > 0 ? Math.max(-50, Math.min(50, (amount - mean) / std)) : 0;
    const lastMs = customers.scalar(customer, C_LAST_MS);
    out[offset + I.custSincePrev] =
      lastMs < 0 ? NO_PREVIOUS_SECONDS : Math.min(NO_PREVIOUS_SECONDS, Math.max(0, (t - lastMs) / 1000));

    const deviceSeen =
      tx.deviceId === null ||
      customers.seenOrRemember(customer, 0, KNOWN_DEVICES, C_DEVICE_CURSOR, hash32(tx.deviceId));
    out[offset + I.custNewDevice] = n > 0 && !deviceSeen ? 1 : 0;
    out[offset + I.custKnownDevices] = customers.setSize(customer, C_DEVICE_CURSOR, KNOWN_DEVICES);
    const payee = counterparty(tx);
    const counterpartySeen = customers.seenOrRemember(
      customer,
      KNOWN_DEVICES,
      KNOWN_COUNTERPARTIES,
      C_COUNTERPARTY_CURSOR,
      hash32(payee.key) ^ payee.namespace,
    );
    out[offset + I.custNewCounterparty] = n > 0 && !counterpartySeen ? 1 : 0;

    if (tx.latitude !== null && tx.longitude !== null) {
      const lastLocMs = customers.scalar(customer, C_LAST_LOC_MS);
      if (lastLocMs >= 0) {
        const km = haversineKm(
          customers.scalar(customer, C_LAST_LAT),
          customers.scalar(customer, C_LAST_LON),
          tx.latitude,
          tx.longitude,
        );
        // At least a minute apart, so two records of one purchase do not read as infinite speed.
        const hours = Math.max(MINUTE, t - lastLocMs) / HOUR;
        out[offset + I.custGeoKm] = km;
        out[offset + I.custGeoKmh] = Math.min(50_000, km / hours);
      }
      customers.setScalar(customer, C_LAST_LAT, tx.latitude);
      customers.setScalar(customer, C_LAST_LON, tx.longitude);
      customers.setScalar(customer, C_LAST_LOC_MS, t);
    }

    // Welford's running mean and variance of the amount.
    const n1 = n + 1;
    const delta = amount - mean;
    const mean1 = mean + delta / n1;
    customers.setScalar(customer, C_N, n1);
    customers.setScalar(customer, C_MEAN, mean1);
    customers.setScalar(customer, C_M2, m2 + delta * (amount - mean1));
    customers.setScalar(customer, C_LAST_MS, Math.max(t, lastMs));

    this.addAmount(customers, customer, t, amount, false);
    const custBase = offset + I.custCount1h;
    this.writeWindows(customers, customer, t, out, custBase);
    for (let w = 0; w < 3; w++) {
      const count = out[custBase + 1 + w]!;
      out[offset + I.custMean24h + w] = count > 0 ? out[custBase + 5 + w]! / count : 0;
    }
    if (tx.channel === 'CASH' && tx.kind === 'DEPOSIT' && this.isJustUnderCashThreshold(tx)) {
      const at = customers.bucketIndex(customer, R_CASH, t);
      if (at >= 0) {
        customers.f32[at + COUNT]! += 1;
        customers.f32[at + SUM]! += amount;
      }
    }
    out[offset + I.custCashCount] = customers.sum(customer, R_CASH, t, COUNT, 7);
    out[offset + I.custCashSum] = customers.sum(customer, R_CASH, t, SUM, 7);

    // Terminal / merchant / payee.
    const terminals = this.terminals;
    const terminal = terminals.slot(payee.key, payee.namespace, t);
    terminals.add(terminal, R_MIN, t, COUNT, 1);
    terminals.add(terminal, R_HOUR, t, COUNT, 1);
    terminals.add(terminal, R_DAY, t, COUNT, 1);
    out[offset + I.termCount1h] = terminals.sum(terminal, R_MIN, t, COUNT, 12);
    out[offset + I.termCount1h + 1] = terminals.sum(terminal, R_HOUR, t, COUNT, 24);
    out[offset + I.termCount1h + 2] = terminals.sum(terminal, R_DAY, t, COUNT, 7);
    const count30 = terminals.sum(terminal, R_DAY, t, COUNT, 30);
    out[offset + I.termCount1h + 3] = count30;
    out[offset + I.termFraud30d] =
      count30 > 0 ? Math.min(1, terminals.sum(terminal, R_DAY, t, FRAUD, 30) / count30) : 0;
    // The handbook's terminal features: windows of 1, 7 and 30 days ending 7 days back (the label delay).
    const delayedDays = [1, 7, 30];
    for (let w = 0; w < 3; w++) {
      const days = delayedDays[w]!;
      const count = terminals.sum(terminal, R_DAY, t, COUNT, days, 7);
      out[offset + I.termCountDelay + w] = count;
      out[offset + I.termRiskDelay + w] =
        count > 0 ? Math.min(1, terminals.sum(terminal, R_DAY, t, FRAUD, days, 7) / count) : 0;
    }

    // Device.
    if (tx.deviceId !== null) {
      const devices = this.devices;
      const device = devices.slot(tx.deviceId, 0, t);
      devices.add(device, R_MIN, t, COUNT, 1);
      devices.add(device, R_HOUR, t, COUNT, 1);
      devices.seenOrRemember(device, 0, DEVICE_CUSTOMERS, D_CUSTOMER_CURSOR, hash32(customerKey(tx)));
      out[offset + I.devCount1h] = devices.sum(device, R_MIN, t, COUNT, 12);
      out[offset + I.devCount1h + 1] = devices.sum(device, R_HOUR, t, COUNT, 24);
      out[offset + I.devCustomers] = devices.setSize(device, D_CUSTOMER_CURSOR, DEVICE_CUSTOMERS);
    }
  }

  /**
   * Structuring: a deposit within [80 %, 100 %) of its own currency's cash reporting threshold, compared exactly in
   * minor units of that currency (ReportingCurrency.cashWindow), so ¥9,000 is not "just under 10,000".
   */
  private isJustUnderCashThreshold(tx: Transaction): boolean {
    const minor = debitedMinor(tx);
    const window = this.reporting.cashWindow(debitedCurrency(tx));
    return window !== null && minor >= window.fromMinor && minor < window.toMinor;
  }

  /**
   * Applies an analyst or chargeback label as soon as it is received: a FRAUD label on a terminal's
   * transaction counts toward that terminal's confirmed-fraud ratios for the day the transaction happened.
   * Only labels already received count, so features never see the future. Each transaction counts once.
   */
  applyLabel(label: AnalystLabel): void {
    if (this.labelled.has(label.transactionId)) return;
    this.labelled.add(label.transactionId);
    this.labelOrder.push(label.transactionId);
    this.labelsSinceChanges++;
    if (this.labelOrder.length > LABEL_MEMORY * 1.5) {
      for (const id of this.labelOrder.splice(0, this.labelOrder.length - LABEL_MEMORY)) this.labelled.delete(id);
    }
    if (label.label !== 'FRAUD' || label.terminalId === null) return;
    const terminal = this.terminals.slot(label.terminalId, NS_TERMINAL, label.transactionEventTimeMs);
    this.terminals.add(terminal, R_DAY, label.transactionEventTimeMs, FRAUD, 1);
  }

  /**
   * Removes the keys idle for FEATURE_STATE_IDLE_MS at `watermarkMs` (default: the newest event time observed);
   * features do not change by it (see keyed-state.ts). Returns how many keys went.
   */
  evictIdle(watermarkMs = this.newestEventMs): number {
    if (watermarkMs === Number.NEGATIVE_INFINITY) return 0;
    const cutoffMs = watermarkMs - FEATURE_STATE_IDLE_MS;
    return [this.cards, this.customers, this.terminals, this.devices].reduce(
      (sum, table) => sum + table.evictIdle(cutoffMs),
      0,
    );
  }

  /** Number of keys held per entity kind and the bytes of their pools. */
  stats(): { cards: number; customers: number; terminals: number; devices: number; bytes: number } {
    const tables = [this.cards, this.customers, this.terminals, this.devices];
    return {
      cards: this.cards.size,
      customers: this.customers.size,
      terminals: this.terminals.size,
      devices: this.devices.size,
      bytes: tables.reduce((sum, table) => sum + table.bytes, 0),
    };
  }

  /** The whole state as plain JSON-able data. */
  snapshot(): FeatureEngineSnapshot {
    const keep = this.labelOrder.slice(-LABEL_MEMORY);
    this.labelsSinceChanges = 0;
    return {
      format: 'vigil.features.v1',
      featureNames: [...FEATURE_NAMES],
      reportingCurrency: this.reporting.currency,
      cards: this.cards.snapshot(),
      customers: this.customers.snapshot(),
      terminals: this.terminals.snapshot(),
      devices: this.devices.snapshot(),
      labelledTransactions: keep,
    };
  }

  /** Replaces the state with a snapshot; throws if it was written by an engine with another feature layout. */
  restore(snapshot: FeatureEngineSnapshot): void {
    if (snapshot.format !== 'vigil.features.v1')
      throw new Error(`unsupported feature snapshot format ${String(snapshot.format)}`);
    if (snapshot.featureNames.join(',') !== FEATURE_NAMES.join(','))
      throw new Error('feature snapshot was written with another feature layout');
    // Windows summed in one currency must not be read as another's: after a change of reporting currency the state
    // starts afresh (README, Amounts across currencies).
    if (snapshot.reportingCurrency !== undefined && snapshot.reportingCurrency !== this.reporting.currency)
      throw new Error(
        `feature snapshot holds amounts in ${snapshot.reportingCurrency}, this engine measures in ${this.reporting.currency}`,
      );
    this.cards.restore(snapshot.cards);
    this.customers.restore(snapshot.customers);
    this.terminals.restore(snapshot.terminals);
    this.devices.restore(snapshot.devices);
    this.labelOrder = [...snapshot.labelledTransactions];
    this.labelled = new Set(this.labelOrder);
    this.labelsSinceChanges = 0;
  }

  /**
   * What changed since the last snapshot or `changes()`: the keys touched (whole slots), the keys evicted and the
   * labels applied. Applied in order on top of the snapshot ({@link applyChanges}), they give this state.
   */
  changes(): FeatureEngineChanges {
    // slice(-0) would be the whole list.
    const labelled =
      this.labelsSinceChanges === 0 ? [] : this.labelOrder.slice(-Math.min(this.labelsSinceChanges, LABEL_MEMORY));
    this.labelsSinceChanges = 0;
    return {
      format: 'vigil.features-changes.v1',
      featureNames: [...FEATURE_NAMES],
      cards: this.cards.changes(),
      customers: this.customers.changes(),
      terminals: this.terminals.changes(),
      devices: this.devices.changes(),
      labelledTransactions: labelled,
    };
  }

  /** Applies {@link changes} on top of the state they followed; throws if another feature layout wrote them. */
  applyChanges(changes: FeatureEngineChanges): void {
    if (changes.format !== 'vigil.features-changes.v1')
      throw new Error(`unsupported feature changes format ${String(changes.format)}`);
    if (changes.featureNames.join(',') !== FEATURE_NAMES.join(','))
      throw new Error('feature changes were written with another feature layout');
    this.cards.applyChanges(changes.cards);
    this.customers.applyChanges(changes.customers);
    this.terminals.applyChanges(changes.terminals);
    this.devices.applyChanges(changes.devices);
    for (const id of changes.labelledTransactions) {
      if (this.labelled.has(id)) continue;
      this.labelled.add(id);
      this.labelOrder.push(id);
    }
    if (this.labelOrder.length > LABEL_MEMORY)
      for (const id of this.labelOrder.splice(0, this.labelOrder.length - LABEL_MEMORY)) this.labelled.delete(id);
    this.labelsSinceChanges = 0;
  }

  /** Counts the transaction and its amount in the 5-minute, hourly and daily rings (and a small CNP probe). */
  private addAmount(table: SlotTable, slot: number, t: number, amount: number, smallCnp: boolean): void {
    const values = table.f32;
    for (let ring = R_MIN; ring <= R_DAY; ring++) {
      const at = table.bucketIndex(slot, ring, t);
      if (at < 0) continue;
      values[at + COUNT]! += 1;
      values[at + SUM]! += amount;
      if (smallCnp && ring === R_MIN) values[at + SMALL_CNP]! += 1;
    }
  }

  /** Writes count 1h/24h/7d/30d then sum 1h/24h/7d/30d at `at`. */
  private writeWindows(table: SlotTable, slot: number, t: number, out: Float32Array, at: number): void {
    for (let channel = COUNT; channel <= SUM; channel++) {
      const base = at + channel * 4;
      out[base] = table.sum(slot, R_MIN, t, channel, 12);
      out[base + 1] = table.sum(slot, R_HOUR, t, channel, 24);
      out[base + 2] = table.sum(slot, R_DAY, t, channel, 7);
      out[base + 3] = table.sum(slot, R_DAY, t, channel, 30);
    }
  }
}
