import { createHash } from 'node:crypto';
import type { ChannelName, KindName, TransactionRequest } from '../schemas/api.js';
import type { Transaction } from '../schemas/generated/types.js';
import { canonicalJson } from '../platform/canonical-json.js';
import { ValidationError, type FieldProblem } from '../platform/errors.js';
import { farAwayPlaces } from './geo.js';
import { convertMinor, currencyExponent, formatMinor, isSupportedCurrency, majorToMinor } from './money.js';
import {
  Population,
  makeDevice,
  makeExternalAccount,
  type CardProfile,
  type CashPointProfile,
  type CustomerProfile,
  type DeviceProfile,
  type TerminalProfile,
  type TxLocation,
} from './population.js';
import { AliasTable, Random, normalCdf, normalQuantile } from './random.js';
import { FraudScenario, type ChannelMix, type SimulatedTransaction, type SimulatorOptions } from './types.js';

export type { SimulatorOptions, ChannelMix } from './types.js';

const DAY_MS = 86_400_000;
const DAY_SECONDS = 86_400;
/** The handbook: times of day are normal around noon with sd 20,000 s; times outside the day are dropped. */
const TIME_OF_DAY_MEAN_SECONDS = 43_200;
const TIME_OF_DAY_SD_SECONDS = 20_000;
/** Share of a day's normally-distributed times that fall inside the day (≈ 0.969). */
export const IN_DAY_SHARE =
  normalCdf((DAY_SECONDS - TIME_OF_DAY_MEAN_SECONDS) / TIME_OF_DAY_SD_SECONDS) -
  normalCdf(-TIME_OF_DAY_MEAN_SECONDS / TIME_OF_DAY_SD_SECONDS);

/** Handbook scenario 1: any card amount above this (major units) is fraud. */
export const HIGH_AMOUNT_THRESHOLD = 220;
/** Handbook scenario 2: terminals compromised per day per 10,000 terminals, for this many days. */
const COMPROMISED_TERMINALS_PER_DAY_PER_10K = 2;
const COMPROMISE_DAYS = 28;
/** Handbook scenario 3: customers leaked per day per 5,000 customers, for this many days. */
const LEAKED_CUSTOMERS_PER_DAY_PER_5K = 3;
const LEAK_DAYS = 14;
const LEAKED_FRAUD_SHARE = 1 / 3;
const LEAKED_AMOUNT_MULTIPLIER = 5;
/** Target shares of all traffic for the injected (non-handbook) scenarios at fraudScale 1. */
const CARD_TESTING_SHARE = 0.0018;
const ACCOUNT_TAKEOVER_SHARE = 0.0006;
const STRUCTURING_SHARE = 0.0006;
/** Cash transactions at or above this (major units of the account currency) must be reported. */
export const CASH_REPORTING_THRESHOLD = 10_000;
/** Cap on one time bucket's expected base transactions, so memory stays flat at any rate. */
const MAX_EXPECTED_PER_BUCKET = 50_000;

const defaultChannelMix: ChannelMix = Object.freeze({
  card: 0.8,
  sepa: 0.06,
  wallet: 0.05,
  p2p: 0.04,
  cash: 0.03,
  ach: 0.01,
  wire: 0.01,
});
const defaultCurrencies: Readonly<Record<string, number>> = Object.freeze({ EUR: 0.9, GBP: 0.06, USD: 0.04 });

/** The defaults of every `SimulatorOptions` field (see simulator/types.ts for their meaning). */
export const simulatorDefaults = Object.freeze({
  seed: 1,
  startTimeMs: Date.UTC(2018, 3, 1),
  customers: 5_000,
  terminals: 10_000,
  meanTxPerCustomerPerDay: 2,
  fraudScale: 1,
  channelMix: defaultChannelMix,
  currencies: defaultCurrencies,
  handbookMode: false,
});

const channelNames: readonly ChannelName[] = ['card', 'ach', 'sepa', 'wire', 'wallet', 'p2p', 'cash'];

/**
 * One generated transaction before it is rendered as a request: plain data plus references to the
 * profiles involved. `handbook-csv.ts` writes these directly, which is what keeps handbook mode fast.
 */
export interface TrafficEvent {
  /** 0-based position in the stream; the handbook's TRANSACTION_ID and the suffix of the request id. */
  readonly seq: number;
  readonly timeMs: number;
  /** Whole days since `startTimeMs`. */
  readonly day: number;
  readonly customer: CustomerProfile;
  readonly channel: ChannelName;
  readonly kind: KindName;
  readonly amountMinor: number;
  readonly currency: string;
  /** In the customer's account currency when it differs from `currency` (FX), else null. */
  readonly settlementMinor: number | null;
  readonly settlementCurrency: string | null;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly card: CardProfile | null;
  readonly cardPresent: boolean;
  /** The merchant terminal of card and wallet purchases. */
  readonly terminal: TerminalProfile | null;
  readonly cashPoint: CashPointProfile | null;
  readonly device: DeviceProfile | null;
  readonly location: TxLocation | null;
  /** Bank-transfer scheme (ACH, SEPA_CT, SEPA_INST, SWIFT), else null. */
  readonly scheme: string | null;
  readonly remittance: string | null;
  readonly fraud: boolean;
  readonly scenario: FraudScenario | null;
}

type DraftEvent = { -readonly [K in keyof TrafficEvent]: TrafficEvent[K] };

interface ResolvedOptions {
  readonly seed: number;
  readonly startTimeMs: number;
  readonly customers: number;
  readonly terminals: number;
  readonly meanTxPerCustomerPerDay: number;
  readonly fraudScale: number;
  readonly channelMix: ChannelMix;
  readonly currencies: Readonly<Record<string, number>>;
  readonly handbookMode: boolean;
  readonly warmStart: boolean;
}

function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const problems: FieldProblem[] = [];
  const handbookMode = options.handbookMode ?? simulatorDefaults.handbookMode;
  const resolved: ResolvedOptions = {
    seed: options.seed ?? simulatorDefaults.seed,
    startTimeMs: options.startTimeMs ?? simulatorDefaults.startTimeMs,
    customers: options.customers ?? simulatorDefaults.customers,
    terminals: options.terminals ?? simulatorDefaults.terminals,
    meanTxPerCustomerPerDay: options.meanTxPerCustomerPerDay ?? simulatorDefaults.meanTxPerCustomerPerDay,
    fraudScale: options.fraudScale ?? simulatorDefaults.fraudScale,
    channelMix: handbookMode ? { card: 1 } : (options.channelMix ?? simulatorDefaults.channelMix),
    currencies: handbookMode ? { EUR: 1 } : (options.currencies ?? simulatorDefaults.currencies),
    handbookMode,
    warmStart: options.warmStart ?? !handbookMode,
  };
  const check = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.push({ path, message });
  };
  check(Number.isSafeInteger(resolved.seed), '/seed', 'must be an integer');
  check(Number.isSafeInteger(resolved.startTimeMs), '/startTimeMs', 'must be an integer epoch-ms');
  check(
    Number.isSafeInteger(resolved.customers) && resolved.customers >= 1 && resolved.customers <= 10_000_000,
    '/customers',
    'must be an integer in [1, 10,000,000]',
  );
  check(
    Number.isSafeInteger(resolved.terminals) && resolved.terminals >= 1 && resolved.terminals <= 10_000_000,
    '/terminals',
    'must be an integer in [1, 10,000,000]',
  );
  check(
    Number.isFinite(resolved.meanTxPerCustomerPerDay) && resolved.meanTxPerCustomerPerDay > 0,
    '/meanTxPerCustomerPerDay',
    'must be a number > 0',
  );
  check(Number.isFinite(resolved.fraudScale) && resolved.fraudScale >= 0, '/fraudScale', 'must be a number ≥ 0');
  let mixTotal = 0;
  for (const [channel, weight] of Object.entries(resolved.channelMix)) {
    check(
      (channelNames as readonly string[]).includes(channel),
      `/channelMix/${channel}`,
      `must be one of ${channelNames.join(', ')}`,
    );
    check(
      typeof weight === 'number' && Number.isFinite(weight) && weight >= 0,
      `/channelMix/${channel}`,
      'must be a number ≥ 0',
    );
    mixTotal += typeof weight === 'number' && weight > 0 ? weight : 0;
  }
  check(mixTotal > 0, '/channelMix', 'needs at least one channel with a positive weight');
  let currencyTotal = 0;
  for (const [currency, weight] of Object.entries(resolved.currencies)) {
    check(
      isSupportedCurrency(currency),
      `/currencies/${currency}`,
      'is not a currency the simulator knows (EUR, USD, GBP, CHF, JPY)',
    );
    check(Number.isFinite(weight) && weight >= 0, `/currencies/${currency}`, 'must be a number ≥ 0');
    currencyTotal += weight > 0 ? weight : 0;
  }
  check(currencyTotal > 0, '/currencies', 'needs at least one currency with a positive weight');
  if (problems.length > 0)
    throw new ValidationError('invalid simulator options', problems, 'SIMULATOR_OPTIONS_INVALID');
  return resolved;
}

/** A binary min-heap of injected fraud events, by time and then by insertion order (deterministic ties). */
class EventHeap {
  private readonly items: Array<{ event: DraftEvent; order: number }> = [];
  private inserted = 0;

  get size(): number {
    return this.items.length;
  }

  peekTime(): number {
    return this.items.length === 0 ? Infinity : this.items[0]!.event.timeMs;
  }

  push(event: DraftEvent): void {
    const items = this.items;
    items.push({ event, order: this.inserted++ });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): DraftEvent {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(left, smallest)) smallest = left;
        if (right < items.length && this.less(right, smallest)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top.event;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.event.timeMs < y.event.timeMs || (x.event.timeMs === y.event.timeMs && x.order < y.order);
  }
}

/**
 * A seeded, reproducible stream of multi-channel transactions with injected, labelled fraud, modelled on the
 * simulator of the ULB/Worldline fraud-detection handbook (see ../shared/ML-EVAL.md).
 *
 * Genuine traffic is the handbook's: each customer's daily count is Poisson, times of day are normal around
 * noon, card amounts normal around the customer's mean at terminals within radius 5. It is produced as one
 * Poisson process per time bucket (the superposition of the customers' processes; customers are drawn in
 * proportion to their rates), which is the same distribution but needs memory for one bucket only.
 * Injected fraud (card testing, account takeover, structuring) is scheduled per day and merged by time.
 * Events come out in non-decreasing event time; the same options always give the same stream.
 */
export class TrafficSimulator {
  readonly options: Readonly<ResolvedOptions>;
  readonly population: Population;
  /** Expected base transactions a day (before injected fraud and before customers without terminals). */
  readonly expectedTransactionsPerDay: number;

  private readonly traffic: Random;
  private readonly fraudRandom: Random;
  private readonly customerPicker: AliasTable;
  private readonly channelPicker: { readonly channels: readonly ChannelName[]; readonly cumulative: Float64Array };
  private readonly compromisedUntilDay: Int32Array;
  private readonly leakedUntilDay: Int32Array;
  private readonly injected = new EventHeap();
  private readonly bucketsPerDay: number;
  private readonly bucketCdf: Float64Array;
  private readonly dailyRate: number;
  private readonly idPrefix: string;
  private times = new Float64Array(0);
  private timesLength = 0;
  private timesPosition = 0;
  private currentDay = -1;
  private currentBucket = -1;
  private emitted = 0;
  /** Numbers the fraud incidents, for their fresh device and mule-account ids. */
  private incidents = 0;

  /** Throws ValidationError (code SIMULATOR_OPTIONS_INVALID) listing every bad option. */
  constructor(options: SimulatorOptions = {}) {
    this.options = Object.freeze(resolveOptions(options));
    const { seed, handbookMode } = this.options;
    this.population = new Population({
      seed,
      customers: this.options.customers,
      terminals: this.options.terminals,
      meanTxPerCustomerPerDay: this.options.meanTxPerCustomerPerDay,
      currencies: this.options.currencies,
      foreignOnlineShare: handbookMode ? 0 : 0.25,
    });
    this.traffic = new Random(seed, 0x7af1c);
    this.fraudRandom = new Random(seed, 0xf4a0d);
    this.idPrefix = `sim-${seed < 0 ? `n${-seed}` : seed}-`;
    const rates = Float64Array.from(this.population.customers, (customer) => customer.meanTxPerDay);
    this.dailyRate = rates.reduce((sum, rate) => sum + rate, 0);
    this.customerPicker = new AliasTable(rates);
    this.expectedTransactionsPerDay = this.dailyRate * IN_DAY_SHARE;

    const mix = channelNames.filter((channel) => (this.options.channelMix[channel] ?? 0) > 0);
    const cumulative = new Float64Array(mix.length);
    let total = 0;
    mix.forEach((channel, i) => {
      total += this.options.channelMix[channel]!;
      cumulative[i] = total;
    });
    for (let i = 0; i < cumulative.length; i++) cumulative[i]! /= total;
    this.channelPicker = { channels: mix, cumulative };

    this.bucketsPerDay = Math.max(24, Math.ceil(this.dailyRate / MAX_EXPECTED_PER_BUCKET));
    this.bucketCdf = new Float64Array(this.bucketsPerDay + 1);
    for (let k = 0; k <= this.bucketsPerDay; k++) {
      this.bucketCdf[k] = normalCdf(
        ((k * DAY_SECONDS) / this.bucketsPerDay - TIME_OF_DAY_MEAN_SECONDS) / TIME_OF_DAY_SD_SECONDS,
      );
    }

    this.compromisedUntilDay = new Int32Array(this.options.terminals);
    this.leakedUntilDay = new Int32Array(this.options.customers);
    if (this.options.warmStart) {
      for (let day = -COMPROMISE_DAYS + 1; day < 0; day++) this.compromiseTerminals(day);
      for (let day = -LEAK_DAYS + 1; day < 0; day++) this.leakCredentials(day);
    }
  }

  /** How many transactions have been produced so far. */
  get count(): number {
    return this.emitted;
  }

  /** The next transaction: request body, canonical record and ground truth. */
  next(): SimulatedTransaction {
    return this.toSimulated(this.nextEvent());
  }

  /** The next `n` transactions. */
  take(n: number): SimulatedTransaction[] {
    const out: SimulatedTransaction[] = [];
    for (let i = 0; i < n; i++) out.push(this.next());
    return out;
  }

  /** The next transaction's request body and ground truth only (skips the canonical record and its hash). */
  nextRequest(): {
    readonly request: TransactionRequest;
    readonly fraud: boolean;
    readonly scenario: FraudScenario | null;
  } {
    const event = this.nextEvent();
    return { request: this.toRequest(event), fraud: event.fraud, scenario: event.scenario };
  }

  /** The next transaction as a plain event (cheap: no strings, dates or hashes are built). */
  nextEvent(): TrafficEvent {
    for (;;) {
      while (this.timesPosition >= this.timesLength) this.fillNextBucket();
      const baseTime = this.times[this.timesPosition]!;
      if (this.injected.peekTime() <= baseTime) return this.emit(this.injected.pop());
      this.timesPosition++;
      const event = this.baseEvent(baseTime);
      if (event !== null) return this.emit(event);
    }
  }

  /** The request id of the event with this sequence number. */
  transactionId(seq: number): string {
    return this.idPrefix + seq;
  }

  /** Renders an event as the HTTP request a bank would send and the canonical record ingest would produce. */
  toSimulated(event: TrafficEvent): SimulatedTransaction {
    const request = this.toRequest(event);
    return { request, transaction: toCanonical(request, event), fraud: event.fraud, scenario: event.scenario };
  }

  private emit(event: DraftEvent): TrafficEvent {
    event.seq = this.emitted++;
    return event;
  }

  private fillNextBucket(): void {
    if (this.currentBucket + 1 >= this.bucketsPerDay || this.currentDay < 0) {
      this.currentDay++;
      this.currentBucket = 0;
      this.startDay(this.currentDay);
    } else {
      this.currentBucket++;
    }
    const k = this.currentBucket;
    const low = this.bucketCdf[k]!;
    const high = this.bucketCdf[k + 1]!;
    const count = this.traffic.poisson(this.dailyRate * (high - low));
    if (this.times.length < count) this.times = new Float64Array(Math.max(count, this.times.length * 2, 1024));
    const dayStartMs = this.options.startTimeMs + this.currentDay * DAY_MS;
    const bucketStartMs = dayStartMs + (k * DAY_MS) / this.bucketsPerDay;
    const bucketEndMs = dayStartMs + ((k + 1) * DAY_MS) / this.bucketsPerDay;
    for (let i = 0; i < count; i++) {
      const seconds =
        TIME_OF_DAY_MEAN_SECONDS + TIME_OF_DAY_SD_SECONDS * normalQuantile(low + (high - low) * this.traffic.next());
      const ms = Math.floor(dayStartMs + seconds * 1000);
      // The two approximations (Φ, Φ⁻¹) disagree in the 7th digit; keep the time inside its bucket.
      this.times[i] = Math.min(Math.max(ms, Math.ceil(bucketStartMs)), Math.ceil(bucketEndMs) - 1);
    }
    this.times.subarray(0, count).sort();
    this.timesLength = count;
    this.timesPosition = 0;
  }

  private startDay(day: number): void {
    this.compromiseTerminals(day);
    this.leakCredentials(day);
    if (this.options.handbookMode || this.options.fraudScale === 0) return;
    const scale = this.options.fraudScale * this.expectedTransactionsPerDay;
    const dayStartMs = this.options.startTimeMs + day * DAY_MS;
    const cardTestings = this.fraudRandom.poisson((scale * CARD_TESTING_SHARE) / 12.5);
    for (let i = 0; i < cardTestings; i++) this.scheduleCardTesting(day, dayStartMs);
    const takeovers = this.fraudRandom.poisson((scale * ACCOUNT_TAKEOVER_SHARE) / 1.5);
    for (let i = 0; i < takeovers; i++) this.scheduleAccountTakeover(day, dayStartMs);
    const structurings = this.fraudRandom.poisson((scale * STRUCTURING_SHARE) / 4.5);
    for (let i = 0; i < structurings; i++) this.scheduleStructuring(day, dayStartMs);
  }

  /** Handbook scenario 2: this day's newly compromised terminals stay compromised for 28 days. */
  private compromiseTerminals(day: number): void {
    const count = this.fraudRandom.roundedCount(
      (COMPROMISED_TERMINALS_PER_DAY_PER_10K * this.options.terminals * this.options.fraudScale) / 10_000,
    );
    for (let i = 0; i < count; i++) {
      const terminal = this.fraudRandom.int(this.options.terminals);
      this.compromisedUntilDay[terminal] = Math.max(this.compromisedUntilDay[terminal]!, day + COMPROMISE_DAYS);
    }
  }

  /** Handbook scenario 3: this day's leaked customers have a third of their card spending ×5 for 14 days. */
  private leakCredentials(day: number): void {
    const count = this.fraudRandom.roundedCount(
      (LEAKED_CUSTOMERS_PER_DAY_PER_5K * this.options.customers * this.options.fraudScale) / 5_000,
    );
    for (let i = 0; i < count; i++) {
      const customer = this.fraudRandom.int(this.options.customers);
      this.leakedUntilDay[customer] = Math.max(this.leakedUntilDay[customer]!, day + LEAK_DAYS);
    }
  }

  private pickChannel(): ChannelName {
    const { channels, cumulative } = this.channelPicker;
    if (channels.length === 1) return channels[0]!;
    const u = this.traffic.next();
    for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]!) return channels[i]!;
    return channels[channels.length - 1]!;
  }

  /** The handbook's amount: normal(mean, mean/2), redrawn uniformly in [0, 2·mean] when negative. */
  private handbookAmount(mean: number): number {
    const amount = mean + (mean / 2) * this.traffic.normal();
    return amount < 0 ? this.traffic.uniform(0, 2 * mean) : amount;
  }

  private baseEvent(timeMs: number): DraftEvent | null {
    const customer = this.population.customers[this.customerPicker.sample(this.traffic)]!;
    const day = this.currentDay;
    switch (this.pickChannel()) {
      case 'card':
        return this.cardPurchase(customer, timeMs, day);
      case 'wallet':
        return this.walletPayment(customer, timeMs, day);
      case 'p2p':
        return this.p2pPayment(customer, timeMs, day);
      case 'sepa':
        return this.bankTransfer(customer, timeMs, day, 'sepa');
      case 'ach':
        return this.bankTransfer(customer, timeMs, day, 'ach');
      case 'wire':
        return this.bankTransfer(customer, timeMs, day, 'wire');
      case 'cash':
        return this.cashTransaction(customer, timeMs, day);
    }
  }

  private cardPurchase(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const nearby = this.population.terminalsNear(customer.index);
    // The handbook drops transactions of customers with no terminal in reach.
    if (nearby.length === 0) return null;
    const terminal = this.population.terminals[nearby[this.traffic.int(nearby.length)]!]!;
    const card = customer.cards[customer.cards.length > 1 && this.traffic.chance(0.3) ? 1 : 0]!;
    const device = terminal.cardPresent ? null : customer.devices[this.traffic.int(customer.devices.length)]!;
    const exponent = currencyExponent(terminal.currency);
    let amountMinor = majorToMinor(this.handbookAmount(customer.meanAmount), exponent);
    let scenario: FraudScenario | null = null;
    if (this.leakedUntilDay[customer.index]! > day && this.traffic.chance(LEAKED_FRAUD_SHARE)) {
      amountMinor *= LEAKED_AMOUNT_MULTIPLIER;
      scenario = FraudScenario.leakedCredentials;
    } else if (this.compromisedUntilDay[terminal.index]! > day) {
      scenario = FraudScenario.compromisedTerminal;
    } else if (amountMinor > HIGH_AMOUNT_THRESHOLD * 10 ** exponent && this.options.fraudScale > 0) {
      // A labelling rule on the genuine amount distribution: not scaled, only switched off at fraudScale 0.
      scenario = FraudScenario.highAmount;
    }
    return this.cardEvent(customer, timeMs, day, terminal, card, terminal.cardPresent, device, amountMinor, scenario);
  }

  private cardEvent(
    customer: CustomerProfile,
    timeMs: number,
    day: number,
    terminal: TerminalProfile,
    card: CardProfile,
    cardPresent: boolean,
    device: DeviceProfile | null,
    amountMinor: number,
    scenario: FraudScenario | null,
  ): DraftEvent {
    return this.event(
      customer,
      timeMs,
      day,
      'card',
      'purchase',
      amountMinor,
      terminal.currency,
      customer.accountId,
      terminal.payeeAccountId,
      {
        card,
        cardPresent,
        terminal,
        device,
        location: terminal.location,
        scenario,
      },
    );
  }

  private walletPayment(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const nearby = this.population.terminalsNear(customer.index);
    if (nearby.length === 0) return null;
    const terminal = this.population.terminals[nearby[this.traffic.int(nearby.length)]!]!;
    const device = customer.devices[this.traffic.int(customer.devices.length)]!;
    const amountMinor = majorToMinor(
      this.handbookAmount(customer.meanAmount),
      currencyExponent(customer.accountCurrency),
    );
    return this.event(
      customer,
      timeMs,
      day,
      'wallet',
      'purchase',
      amountMinor,
      customer.accountCurrency,
      customer.accountId,
      terminal.payeeAccountId,
      {
        terminal,
        device,
        location: customer.home,
      },
    );
  }

  private p2pPayment(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    if (customer.friends.length === 0) return null;
    const friend = this.population.customers[customer.friends[this.traffic.int(customer.friends.length)]!]!;
    const device = customer.devices[this.traffic.int(customer.devices.length)]!;
    const amountMinor = majorToMinor(
      this.handbookAmount(customer.meanAmount * 1.5),
      currencyExponent(customer.accountCurrency),
    );
    return this.event(
      customer,
      timeMs,
      day,
      'p2p',
      'transfer',
      amountMinor,
      customer.accountCurrency,
      customer.accountId,
      friend.accountId,
      {
        device,
        location: customer.home,
      },
    );
  }

  private bankTransfer(
    customer: CustomerProfile,
    timeMs: number,
    day: number,
    channel: 'sepa' | 'ach' | 'wire',
  ): DraftEvent {
    const payee = customer.payees[this.traffic.int(customer.payees.length)]!;
    const device = customer.devices[this.traffic.int(customer.devices.length)]!;
    // SEPA is a euro scheme and ACH a dollar one; wires go out in the account's own currency.
    const currency = channel === 'sepa' ? 'EUR' : channel === 'ach' ? 'USD' : customer.accountCurrency;
    const mean = channel === 'wire' ? customer.transferMean * 4 : customer.transferMean;
    const amountMinor = majorToMinor(this.handbookAmount(mean), currencyExponent(currency));
    const scheme =
      channel === 'sepa' ? (this.traffic.chance(0.15) ? 'SEPA_INST' : 'SEPA_CT') : channel === 'ach' ? 'ACH' : 'SWIFT';
    return this.event(
      customer,
      timeMs,
      day,
      channel,
      'transfer',
      amountMinor,
      currency,
      customer.accountId,
      payee.accountId,
      {
        device,
        location: customer.home,
        scheme,
        remittance: payee.remittance,
      },
    );
  }

  private cashTransaction(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const near = this.population.cashPointsNear(customer.index);
    if (this.traffic.chance(0.85) || near.branches.length === 0) {
      const atm = this.population.cashPoints[near.atms[this.traffic.int(near.atms.length)]!]!;
      const amountMinor = 10 * this.traffic.intBetween(2, 40) * 10 ** currencyExponent('EUR');
      return this.event(
        customer,
        timeMs,
        day,
        'cash',
        'withdrawal',
        amountMinor,
        'EUR',
        customer.accountId,
        atm.accountId,
        {
          cashPoint: atm,
          location: atm.location,
        },
      );
    }
    const branch = this.population.cashPoints[near.branches[this.traffic.int(near.branches.length)]!]!;
    // Mostly small deposits; a few large ones above the reporting threshold (genuine, and reported).
    const major = this.traffic.chance(0.97)
      ? 10 * this.traffic.intBetween(5, 300)
      : 100 * this.traffic.intBetween(100, 200);
    const amountMinor = major * 10 ** currencyExponent(customer.accountCurrency);
    return this.event(
      customer,
      timeMs,
      day,
      'cash',
      'deposit',
      amountMinor,
      customer.accountCurrency,
      branch.accountId,
      customer.accountId,
      {
        cashPoint: branch,
        location: branch.location,
      },
    );
  }

  /** Card testing: a burst of 5–20 tiny card-not-present payments on one stolen card at new merchants. */
  private scheduleCardTesting(day: number, dayStartMs: number): void {
    const random = this.fraudRandom;
    const customer = this.population.customers[random.int(this.options.customers)]!;
    const card = random.pick(customer.cards);
    const device = makeDevice(this.options.seed, 2, this.incidents++);
    const online = this.population.onlineTerminals;
    let timeMs = Math.floor(dayStartMs + random.uniform(0, DAY_MS));
    const count = random.intBetween(5, 20);
    for (let i = 0; i < count; i++) {
      const terminal =
        this.population.terminals[
          online.length > 0 ? online[random.int(online.length)]! : random.int(this.options.terminals)
        ]!;
      const amountMinor = majorToMinor(random.uniform(0.5, 2), currencyExponent(terminal.currency), 50);
      const event = this.cardEvent(
        customer,
        timeMs,
        day,
        terminal,
        card,
        false,
        device,
        amountMinor,
        FraudScenario.cardTesting,
      );
      event.location = { country: terminal.location.country, latitude: null, longitude: null };
      this.injected.push(event);
      timeMs += Math.floor(random.uniform(3_000, 40_000));
    }
  }

  /** Account takeover: 1–2 large payments to a new payee, from a new device, thousands of km from home. */
  private scheduleAccountTakeover(day: number, dayStartMs: number): void {
    const random = this.fraudRandom;
    const customer = this.population.customers[random.int(this.options.customers)]!;
    const incident = this.incidents++;
    const device = makeDevice(this.options.seed, 3, incident);
    const place = random.pick(farAwayPlaces);
    const mule = makeExternalAccount(this.options.seed, -1, incident);
    let timeMs = Math.floor(dayStartMs + random.uniform(0, DAY_MS));
    const count = random.intBetween(1, 2);
    for (let i = 0; i < count; i++) {
      const channel = random.pick(['sepa', 'wire', 'wallet', 'p2p'] as const);
      const currency = channel === 'sepa' ? 'EUR' : customer.accountCurrency;
      // Far above the customer's usual transfers (whose mean is transferMean), in round figures.
      const major = Math.max(1_500, 10 * Math.round((customer.transferMean * random.uniform(6, 15)) / 10));
      const amountMinor = majorToMinor(major, currencyExponent(currency));
      const scheme = channel === 'sepa' ? 'SEPA_INST' : channel === 'wire' ? 'SWIFT' : null;
      this.injected.push(
        this.event(customer, timeMs, day, channel, 'transfer', amountMinor, currency, customer.accountId, mule, {
          device,
          location: place,
          scheme,
          scenario: FraudScenario.accountTakeover,
        }),
      );
      timeMs += Math.floor(random.uniform(60_000, 600_000));
    }
  }

  /** Structuring: 3–6 cash deposits over 2–5 days, each just under the reporting threshold. */
  private scheduleStructuring(day: number, dayStartMs: number): void {
    const random = this.fraudRandom;
    const customer = this.population.customers[random.int(this.options.customers)]!;
    const near = this.population.cashPointsNear(customer.index);
    const branches = near.branches.length > 0 ? near.branches : near.atms;
    const exponent = currencyExponent(customer.accountCurrency);
    const spanDays = random.intBetween(2, 5);
    const count = random.intBetween(3, 6);
    for (let i = 0; i < count; i++) {
      const offsetDay = Math.min(spanDays - 1, Math.floor((i * spanDays) / count));
      // Branch opening hours, 09:00–17:00.
      const timeMs = Math.floor(dayStartMs + offsetDay * DAY_MS + random.uniform(9 * 3_600_000, 17 * 3_600_000));
      const branch = this.population.cashPoints[branches[random.int(branches.length)]!]!;
      // Round sums from 9,000 to 9,990: under the threshold, but not suspiciously exact.
      const amountMinor =
        10 *
        random.intBetween((CASH_REPORTING_THRESHOLD - 1_000) / 10, CASH_REPORTING_THRESHOLD / 10 - 1) *
        10 ** exponent;
      this.injected.push(
        this.event(
          customer,
          timeMs,
          day + offsetDay,
          'cash',
          'deposit',
          amountMinor,
          customer.accountCurrency,
          branch.accountId,
          customer.accountId,
          {
            cashPoint: branch,
            location: branch.location,
            scenario: FraudScenario.structuring,
          },
        ),
      );
    }
  }

  private event(
    customer: CustomerProfile,
    timeMs: number,
    day: number,
    channel: ChannelName,
    kind: KindName,
    amountMinor: number,
    currency: string,
    payerAccountId: string,
    payeeAccountId: string,
    extra: Partial<
      Pick<
        DraftEvent,
        'card' | 'cardPresent' | 'terminal' | 'cashPoint' | 'device' | 'location' | 'scheme' | 'remittance' | 'scenario'
      >
    >,
  ): DraftEvent {
    const fx = currency !== customer.accountCurrency;
    const scenario = extra.scenario ?? null;
    return {
      seq: -1,
      timeMs,
      day,
      customer,
      channel,
      kind,
      amountMinor,
      currency,
      settlementMinor: fx ? convertMinor(amountMinor, currency, customer.accountCurrency) : null,
      settlementCurrency: fx ? customer.accountCurrency : null,
      payerAccountId,
      payeeAccountId,
      card: extra.card ?? null,
      cardPresent: extra.cardPresent ?? false,
      terminal: extra.terminal ?? null,
      cashPoint: extra.cashPoint ?? null,
      device: extra.device ?? null,
      location: extra.location ?? null,
      scheme: extra.scheme ?? null,
      remittance: extra.remittance ?? null,
      fraud: scenario !== null,
      scenario,
    };
  }

  private toRequest(event: TrafficEvent): TransactionRequest {
    const exponent = currencyExponent(event.currency);
    const merchant =
      event.terminal !== null
        ? { id: event.terminal.merchantId, terminalId: event.terminal.terminalId, mcc: event.terminal.mcc }
        : event.cashPoint !== null
          ? {
              id: 'vigil-sim-bank',
              terminalId: event.cashPoint.terminalId,
              mcc: event.kind === 'deposit' ? '6010' : '6011',
            }
          : undefined;
    const location = event.location;
    const transactionId = this.transactionId(event.seq);
    return {
      transactionId,
      channel: event.channel,
      kind: event.kind,
      amount: { value: formatMinor(event.amountMinor, exponent), currency: event.currency },
      ...(event.settlementMinor !== null && event.settlementCurrency !== null
        ? {
            settlementAmount: {
              value: formatMinor(event.settlementMinor, currencyExponent(event.settlementCurrency)),
              currency: event.settlementCurrency,
            },
          }
        : {}),
      payer: { accountId: event.payerAccountId, customerId: event.customer.customerId },
      payee: { accountId: event.payeeAccountId },
      ...(event.card !== null ? { card: { number: event.card.number, present: event.cardPresent } } : {}),
      ...(merchant !== undefined ? { merchant } : {}),
      ...(event.device !== null ? { device: { id: event.device.id, ip: event.device.ip } } : {}),
      ...(location !== null
        ? {
            location: {
              country: location.country,
              ...(location.latitude !== null && location.longitude !== null
                ? { latitude: location.latitude, longitude: location.longitude }
                : {}),
            },
          }
        : {}),
      ...(event.remittance !== null ? { description: event.remittance } : {}),
      ...(event.scheme !== null
        ? {
            bankTransfer: {
              scheme: event.scheme,
              endToEndId: `E2E-${transactionId}`.slice(0, 35),
              ...(event.remittance !== null ? { remittanceInfo: event.remittance } : {}),
            },
          }
        : {}),
      eventTime: new Date(event.timeMs).toISOString(),
    };
  }
}

const kindOf: Readonly<Record<KindName, Transaction['kind']>> = {
  purchase: 'PURCHASE',
  authorization: 'AUTHORIZATION',
  capture: 'CAPTURE',
  refund: 'REFUND',
  transfer: 'TRANSFER',
  withdrawal: 'WITHDRAWAL',
  deposit: 'DEPOSIT',
};

/**
 * The canonical record ingest would produce for `request`. The card token is the simulator's stand-in, so
 * the fingerprint (SHA-256 of the canonical content, as ingest computes it) differs from ingest's.
 */
function toCanonical(request: TransactionRequest, event: TrafficEvent): Transaction {
  const content = {
    transactionId: request.transactionId,
    channel: request.channel.toUpperCase() as Transaction['channel'],
    kind: kindOf[request.kind ?? 'purchase'],
    amountMinor: BigInt(event.amountMinor),
    currency: request.amount.currency,
    settlement:
      event.settlementMinor !== null && event.settlementCurrency !== null
        ? { amountMinor: BigInt(event.settlementMinor), currency: event.settlementCurrency }
        : null,
    payerAccountId: request.payer.accountId,
    payeeAccountId: request.payee.accountId,
    customerId: request.payer.customerId ?? request.payer.accountId,
    card:
      event.card !== null
        ? { token: event.card.token, bin: event.card.bin, last4: event.card.last4, present: event.cardPresent }
        : null,
    merchantId: request.merchant?.id ?? null,
    terminalId: request.merchant?.terminalId ?? null,
    mcc: request.merchant?.mcc ?? null,
    deviceId: request.device?.id ?? null,
    ipAddress: request.device?.ip ?? null,
    country: request.location?.country ?? null,
    latitude: request.location?.latitude ?? null,
    longitude: request.location?.longitude ?? null,
    description: request.description ?? null,
    bankTransfer:
      request.bankTransfer !== undefined
        ? {
            scheme: request.bankTransfer.scheme,
            endToEndId: request.bankTransfer.endToEndId ?? null,
            remittanceInfo: request.bankTransfer.remittanceInfo ?? null,
          }
        : null,
    channelReference: null,
    eventTimeMs: event.timeMs,
  };
  const fingerprint = createHash('sha256').update(canonicalJson(content)).digest('hex');
  return { ...content, fingerprint, source: 'SIMULATOR', receivedAtMs: event.timeMs };
}
