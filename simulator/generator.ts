import type { TransactionRequest } from '../schemas/api.js';
import { CardFlows } from './card-flows.js';
import { Payroll, type PolicyHolder, openingDeposit, policyHolders } from './balance-policies.js';
import { FraudSchedule } from './fraud-scenarios.js';
import { GenuineTraffic } from './genuine-traffic.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { Population } from './population.js';
import { Random } from './random.js';
import { toCanonical, toRequest } from './requests.js';
import { ArrivalTimeline, IN_DAY_SHARE } from './timeline.js';
import { type AccountSetUpState, SIMULATOR_STATE_FORMAT, type SimulatorState } from './state.js';
import type { DraftEvent, TrafficEvent } from './traffic-event.js';
import type { FraudScenario, SimulatedTransaction, SimulatorOptions } from './types.js';

export type { SimulatorOptions, ChannelMix } from './types.js';

/**
 * A seeded, reproducible stream of multi-channel transactions with injected, labelled fraud, modelled on the
 * simulator of the ULB/Worldline fraud-detection handbook (see ../shared/ML-EVAL.md).
 *
 * The parts: the world (`Population`), the genuine traffic's times (`ArrivalTimeline`) and transactions
 * (`GenuineTraffic`), the fraud (`FraudSchedule`), and the request and record builders (`requests.ts`).
 * Genuine traffic is produced as one Poisson process per time bucket (the superposition of the customers'
 * processes; customers are drawn in proportion to their rates), which is the handbook's distribution but
 * needs memory for one bucket only. Injected fraud is scheduled per day and merged by time, and so are the
 * salaries of the customers with a balance policy (`balance-policies.ts`; none unless `policyShare` > 0, so
 * a world without policies has the stream it always had), and so are the captures and refunds of card flows
 * (`card-flows.ts`; none unless `cardFlows`, which draws from its own stream and leaves the rest of the world as it
 * was). Events come out in non-decreasing event time; the same options always give the same stream.
 */
export class TrafficSimulator {
  readonly options: Readonly<ResolvedOptions>;
  readonly population: Population;
  /** Expected base transactions a day (before injected fraud and before customers without terminals). */
  readonly expectedTransactionsPerDay: number;
  /** Customers whose accounts have a balance policy, by customer index (empty unless `policyShare` > 0). */
  readonly policyHolders: readonly PolicyHolder[];

  private readonly timeline: ArrivalTimeline;
  private readonly genuine: GenuineTraffic;
  private readonly fraud: FraudSchedule;
  private readonly payroll: Payroll;
  /** Null unless the options have `cardFlows`. */
  private readonly cardFlows: CardFlows | null;
  private readonly traffic: Random;
  private readonly idPrefix: string;
  private emitted = 0;
  private setUp: AccountSetUpState = { policiesSet: 0, openingsSent: 0, setAhead: [] };

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
    const traffic = new Random(seed, 0x7af1c);
    this.traffic = traffic;
    this.idPrefix = `sim-${seed < 0 ? `n${-seed}` : seed}-`;
    const dailyRate = this.population.customers.reduce((sum, customer) => sum + customer.meanTxPerDay, 0);
    this.expectedTransactionsPerDay = dailyRate * IN_DAY_SHARE;
    this.fraud = new FraudSchedule(this.options, this.population, this.expectedTransactionsPerDay);
    this.policyHolders = policyHolders(this.options, this.population);
    this.payroll = new Payroll(this.policyHolders, this.options.startTimeMs);
    this.cardFlows = this.options.cardFlows ? new CardFlows(seed, this.options.startTimeMs, this.population) : null;
    this.genuine = new GenuineTraffic(this.options, this.population, traffic, this.fraud);
    this.timeline = new ArrivalTimeline(traffic, this.options.startTimeMs, dailyRate, (day, dayStartMs) =>
      this.fraud.startDay(day, dayStartMs),
    );
  }

  /**
   * A simulator that continues the stream of the one `save` was called on, exactly: the next transaction is
   * the one that simulator would have produced next. Throws ValidationError for bad options and RangeError
   * for a state that does not fit the world its options build.
   */
  static restore(state: SimulatorState): TrafficSimulator {
    const format: unknown = state.format;
    if (format !== SIMULATOR_STATE_FORMAT)
      throw new RangeError(`simulator state format ${JSON.stringify(format)} is not ${SIMULATOR_STATE_FORMAT}`);
    const simulator = new TrafficSimulator(state.options);
    simulator.fraud.restore(state.fraud);
    // The timeline redraws its bucket from the shared traffic stream, so the stream's own state comes last.
    simulator.timeline.restore(state.timeline);
    simulator.traffic.restore(state.traffic);
    simulator.emitted = state.emitted;
    // Absent from states saved before balance policies existed; their worlds have no policy holders.
    if (state.payroll !== undefined) simulator.payroll.restore(state.payroll);
    simulator.markAccountSetUp(state.accountSetUp ?? { policiesSet: 0, openingsSent: 0 });
    if (simulator.cardFlows !== null) {
      if (state.cardFlows === undefined)
        throw new RangeError('simulator state has card flows in its options but no card-flow state');
      simulator.cardFlows.restore(state.cardFlows);
    }
    return simulator;
  }

  /** Everything needed to continue this stream after a restart (plain JSON; see `restore`). */
  save(): SimulatorState {
    return {
      format: SIMULATOR_STATE_FORMAT,
      options: this.options,
      emitted: this.emitted,
      traffic: this.traffic.save(),
      timeline: this.timeline.save(),
      fraud: this.fraud.save(),
      payroll: this.payroll.save(),
      accountSetUp: this.setUp,
      ...(this.cardFlows !== null ? { cardFlows: this.cardFlows.save() } : {}),
    };
  }

  /** How many transactions have been produced so far. */
  get count(): number {
    return this.emitted;
  }

  /**
   * How far the account desk got, in `policyHolders` order: the first `policiesSet` holders have their policy, the
   * first `openingsSent` their opening balance. Saved with the stream, so a restarted world does only the rest.
   */
  get accountSetUp(): AccountSetUpState {
    return this.setUp;
  }

  /**
   * Records the account desk's progress. Throws RangeError for counts outside 0 … holders, openings ahead of
   * policies, or positions set ahead that are not after `policiesSet`.
   */
  markAccountSetUp(progress: AccountSetUpState): void {
    const { policiesSet, openingsSent, setAhead = [] } = progress;
    const holders = this.policyHolders.length;
    const position = (n: number, min: number): boolean => Number.isSafeInteger(n) && n >= min && n <= holders;
    if (
      !position(policiesSet, 0) ||
      !(position(openingsSent, 0) && openingsSent <= policiesSet) ||
      !setAhead.every((n) => position(n, policiesSet + 1) && n < holders)
    )
      throw new RangeError(
        `account set-up ${JSON.stringify(progress)} is outside 0 ≤ openings sent ≤ policies set ≤ ${holders} holders`,
      );
    this.setUp = { policiesSet, openingsSent, setAhead: [...new Set(setAhead)].sort((a, b) => a - b) };
  }

  /**
   * The request that pays `holder`'s opening balance, dated at the world's start (so sending it again is an
   * idempotent repeat, whenever that happens); undefined when there is nothing to pay. Its id is outside the
   * stream's sequence.
   */
  openingDepositRequest(holder: PolicyHolder): TransactionRequest | undefined {
    const event = openingDeposit(holder, this.options.startTimeMs);
    return event === null ? undefined : toRequest(event, `${this.idPrefix}open-${holder.customer.index}`, null);
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
    return { request: this.requestOf(event), fraud: event.fraud, scenario: event.scenario };
  }

  /** The next transaction as a plain event (cheap: no strings, dates or hashes are built). */
  nextEvent(): TrafficEvent {
    for (;;) {
      const baseTime = this.timeline.peek();
      const fraudTime = this.fraud.nextInjectedTimeMs();
      const salaryTime = this.payroll.nextTimeMs();
      const followUpTime = this.cardFlows?.nextTimeMs() ?? Infinity;
      if (followUpTime <= salaryTime && followUpTime <= fraudTime && followUpTime <= baseTime)
        return this.emit(this.cardFlows!.pop());
      if (salaryTime < fraudTime && salaryTime <= baseTime) return this.emit(this.payroll.pop());
      if (fraudTime <= baseTime) return this.emit(this.fraud.popInjected());
      this.timeline.advance();
      const event = this.genuine.eventAt(baseTime, this.timeline.day);
      if (event !== null) return this.emit(event);
    }
  }

  /** The request id of the event with this sequence number. */
  transactionId(seq: number): string {
    return this.idPrefix + seq;
  }

  /** Renders an event as the HTTP request a bank would send and the canonical record ingest would produce. */
  toSimulated(event: TrafficEvent): SimulatedTransaction {
    const request = this.requestOf(event);
    return { request, transaction: toCanonical(request, event), fraud: event.fraud, scenario: event.scenario };
  }

  /** Follow-ups not yet produced (captures and refunds scheduled by card flows). */
  get pendingFollowUps(): number {
    return this.cardFlows?.pendingCount ?? 0;
  }

  private requestOf(event: TrafficEvent): TransactionRequest {
    const original = event.originalSeq === null ? null : this.transactionId(event.originalSeq);
    return toRequest(event, this.transactionId(event.seq), original);
  }

  private emit(event: DraftEvent): TrafficEvent {
    event.seq = this.emitted++;
    this.cardFlows?.onEmitted(event);
    return event;
  }
}
