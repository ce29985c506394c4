import { farAwayPlaces } from './geo.js';
import { currencyExponent, majorToMinor } from './money.js';
import type { Population } from './population.js';
import { type CustomerProfile, type TerminalProfile, makeDevice, makeExternalAccount } from './population.js';
import { Random } from './random.js';
import type { ResolvedOptions } from './options.js';
import { EventHeap } from './event-heap.js';
import { DAY_MS } from './timeline.js';
import { type DraftEvent, cardDraft, draftEvent } from './traffic-event.js';
import { type FraudState, decodeEvent, encodeEvent } from './state.js';
import { FraudScenario } from './types.js';

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

/**
 * The fraud of the simulated world, with its own random stream: the handbook's scenarios (high amounts,
 * compromised terminals, leaked credentials) label genuine card purchases, and the injected scenarios (card
 * testing, account takeover, structuring) are scheduled a day at a time and handed out in time order.
 */
export class FraudSchedule {
  private readonly random: Random;
  private readonly compromisedUntilDay: Int32Array;
  private readonly leakedUntilDay: Int32Array;
  private readonly injected = new EventHeap();
  /** Numbers the fraud incidents, for their fresh device and mule-account ids. */
  private incidents = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly population: Population,
    /** Expected genuine transactions a day, which the injected scenarios' shares are of. */
    private readonly expectedTransactionsPerDay: number,
  ) {
    this.random = new Random(options.seed, 0xf4a0d);
    this.compromisedUntilDay = new Int32Array(options.terminals);
    this.leakedUntilDay = new Int32Array(options.customers);
    if (options.warmStart) {
      for (let day = -COMPROMISE_DAYS + 1; day < 0; day++) this.compromiseTerminals(day);
      for (let day = -LEAK_DAYS + 1; day < 0; day++) this.leakCredentials(day);
    }
  }

  /** The fraud state, for `restore` after a restart. */
  save(): FraudState {
    const nonZero = (days: Int32Array): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      days.forEach((day, index) => {
        if (day !== 0) out.push([index, day]);
      });
      return out;
    };
    return {
      random: this.random.save(),
      incidents: this.incidents,
      compromisedUntilDay: nonZero(this.compromisedUntilDay),
      leakedUntilDay: nonZero(this.leakedUntilDay),
      injected: this.injected.save(encodeEvent),
    };
  }

  /** Continues from a saved state; throws RangeError for an index outside this world. */
  restore(state: FraudState): void {
    const fill = (days: Int32Array, entries: ReadonlyArray<readonly [number, number]>, what: string): void => {
      days.fill(0);
      for (const [index, day] of entries) {
        if (!(Number.isSafeInteger(index) && index >= 0 && index < days.length && Number.isSafeInteger(day)))
          throw new RangeError(`${what} entry [${index}, ${day}] is outside this world`);
        days[index] = day;
      }
    };
    fill(this.compromisedUntilDay, state.compromisedUntilDay, 'compromised terminal');
    fill(this.leakedUntilDay, state.leakedUntilDay, 'leaked customer');
    this.injected.restore(state.injected, (encoded) => decodeEvent(encoded, this.population));
    this.incidents = state.incidents;
    this.random.restore(state.random);
  }

  /** Time (epoch ms) of the next injected fraud event; Infinity when none is scheduled. */
  nextInjectedTimeMs(): number {
    return this.injected.peekTime();
  }

  /** Removes and returns the next injected fraud event (call only when one is scheduled). */
  popInjected(): DraftEvent {
    return this.injected.pop();
  }

  /** Draws the day's newly compromised terminals and leaked customers and schedules its injected fraud. */
  startDay(day: number, dayStartMs: number): void {
    this.compromiseTerminals(day);
    this.leakCredentials(day);
    if (this.options.handbookMode || this.options.fraudScale === 0) return;
    const scale = this.options.fraudScale * this.expectedTransactionsPerDay;
    const cardTestings = this.random.poisson((scale * CARD_TESTING_SHARE) / 12.5);
    for (let i = 0; i < cardTestings; i++) this.scheduleCardTesting(day, dayStartMs);
    const takeovers = this.random.poisson((scale * ACCOUNT_TAKEOVER_SHARE) / 1.5);
    for (let i = 0; i < takeovers; i++) this.scheduleAccountTakeover(day, dayStartMs);
    const structurings = this.random.poisson((scale * STRUCTURING_SHARE) / 4.5);
    for (let i = 0; i < structurings; i++) this.scheduleStructuring(day, dayStartMs);
  }

  /**
   * The handbook's label of a genuine card purchase on `day`, and its amount: a leaked customer's spending is
   * ×5 a third of the time (drawn from `traffic`, the genuine stream), a compromised terminal's every payment
   * is fraud, and any amount above HIGH_AMOUNT_THRESHOLD is (unless fraud is switched off).
   */
  labelCardPurchase(
    customer: CustomerProfile,
    terminal: TerminalProfile,
    day: number,
    amountMinor: number,
    exponent: number,
    traffic: Random,
  ): { readonly amountMinor: number; readonly scenario: FraudScenario | null } {
    if (this.leakedUntilDay[customer.index]! > day && traffic.chance(LEAKED_FRAUD_SHARE)) {
      return { amountMinor: amountMinor * LEAKED_AMOUNT_MULTIPLIER, scenario: FraudScenario.leakedCredentials };
    }
    if (this.compromisedUntilDay[terminal.index]! > day) {
      return { amountMinor, scenario: FraudScenario.compromisedTerminal };
    }
    if (amountMinor > HIGH_AMOUNT_THRESHOLD * 10 ** exponent && this.options.fraudScale > 0) {
      // A labelling rule on the genuine amount distribution: not scaled, only switched off at fraudScale 0.
      return { amountMinor, scenario: FraudScenario.highAmount };
    }
    return { amountMinor, scenario: null };
  }

  /** Handbook scenario 2: this day's newly compromised terminals stay compromised for 28 days. */
  private compromiseTerminals(day: number): void {
    const count = this.random.roundedCount(
      (COMPROMISED_TERMINALS_PER_DAY_PER_10K * this.options.terminals * this.options.fraudScale) / 10_000,
    );
    for (let i = 0; i < count; i++) {
      const terminal = this.random.int(this.options.terminals);
      this.compromisedUntilDay[terminal] = Math.max(this.compromisedUntilDay[terminal]!, day + COMPROMISE_DAYS);
    }
  }

  /** Handbook scenario 3: this day's leaked customers have a third of their card spending ×5 for 14 days. */
  private leakCredentials(day: number): void {
    const count = this.random.roundedCount(
      (LEAKED_CUSTOMERS_PER_DAY_PER_5K * this.options.customers * this.options.fraudScale) / 5_000,
    );
    for (let i = 0; i < count; i++) {
      const customer = this.random.int(this.options.customers);
      this.leakedUntilDay[customer] = Math.max(this.leakedUntilDay[customer]!, day + LEAK_DAYS);
    }
  }

  /** Card testing: a burst of 5–20 tiny card-not-present payments on one stolen card at new merchants. */
  private scheduleCardTesting(day: number, dayStartMs: number): void {
    const random = this.random;
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
      const event = cardDraft(
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
    const random = this.random;
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
        draftEvent(customer, timeMs, day, channel, 'transfer', amountMinor, currency, customer.accountId, mule, {
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
    const random = this.random;
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
        draftEvent(
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
}
