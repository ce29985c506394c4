import type { ChannelName, KindName } from '../schemas/api.js';
import type { PayrollState } from './balance-policies.js';
import type { ResolvedOptions } from './options.js';
import type { DeviceProfile, Population, TxLocation } from './population.js';
import type { RandomState } from './random.js';
import type { TimelineState } from './timeline.js';
import type { DraftEvent } from './traffic-event.js';
import type { FraudScenario } from './types.js';

/** Version of the state format; a state of another version is refused, never guessed at. */
export const SIMULATOR_STATE_FORMAT = 1;

/**
 * Everything a `TrafficSimulator` needs to continue its stream exactly where it stopped: the options (the
 * world is rebuilt from them), the random streams, the timeline's position and the fraud already scheduled.
 * Plain JSON: numbers, strings, arrays.
 */
export interface SimulatorState {
  readonly format: typeof SIMULATOR_STATE_FORMAT;
  readonly options: ResolvedOptions;
  /** Transactions produced so far (the next one's sequence number). */
  readonly emitted: number;
  readonly traffic: RandomState;
  readonly timeline: TimelineState;
  readonly fraud: FraudState;
  /** Salaries paid so far; absent in states saved before balance policies existed. */
  readonly payroll?: PayrollState;
  /** The account desk's progress (TrafficSimulator.accountSetUp); absent in states saved before it existed. */
  readonly accountSetUp?: AccountSetUpState;
  /**
   * The card flows' random stream and the follow-ups scheduled but not yet produced; present when the options have
   * `cardFlows`, absent in states saved before card flows existed (their options have none).
   */
  readonly cardFlows?: CardFlowState;
}

/** The follow-ups (captures, refunds) not yet produced, in the heap's order, and the card flows' random stream. */
export interface CardFlowState {
  readonly random: RandomState;
  readonly pending: { readonly inserted: number; readonly items: ReadonlyArray<readonly [number, EncodedEvent]> };
}

/** How many policy holders, in order, have their policy set and their opening balance sent. */
export interface AccountSetUpState {
  readonly policiesSet: number;
  readonly openingsSent: number;
  /** Positions after `policiesSet` whose policy is set too (calls in flight when an earlier one failed). */
  readonly setAhead?: readonly number[];
}

export interface FraudState {
  readonly random: RandomState;
  readonly incidents: number;
  /** [terminal index, compromised until day] for every terminal ever compromised. */
  readonly compromisedUntilDay: ReadonlyArray<readonly [number, number]>;
  /** [customer index, leaked until day] for every customer ever leaked. */
  readonly leakedUntilDay: ReadonlyArray<readonly [number, number]>;
  readonly injected: { readonly inserted: number; readonly items: ReadonlyArray<readonly [number, EncodedEvent]> };
}

/** A scheduled event with its profiles as indexes into the population (the population is rebuilt, not saved). */
export interface EncodedEvent {
  readonly timeMs: number;
  readonly day: number;
  readonly customer: number;
  readonly channel: ChannelName;
  readonly kind: KindName;
  readonly amountMinor: number;
  readonly currency: string;
  readonly settlementMinor: number | null;
  readonly settlementCurrency: string | null;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  /** Index into the customer's cards. */
  readonly card: number | null;
  readonly cardPresent: boolean;
  readonly terminal: number | null;
  readonly cashPoint: number | null;
  readonly device: DeviceProfile | null;
  readonly location: TxLocation | null;
  readonly scheme: string | null;
  readonly remittance: string | null;
  readonly scenario: FraudScenario | null;
  /** The followed-up event's seq (TrafficEvent.originalSeq); absent in states saved before card flows existed. */
  readonly originalSeq?: number | null;
}

export function encodeEvent(event: DraftEvent): EncodedEvent {
  return {
    timeMs: event.timeMs,
    day: event.day,
    customer: event.customer.index,
    channel: event.channel,
    kind: event.kind,
    amountMinor: event.amountMinor,
    currency: event.currency,
    settlementMinor: event.settlementMinor,
    settlementCurrency: event.settlementCurrency,
    payerAccountId: event.payerAccountId,
    payeeAccountId: event.payeeAccountId,
    card: event.card === null ? null : event.customer.cards.indexOf(event.card),
    cardPresent: event.cardPresent,
    terminal: event.terminal?.index ?? null,
    cashPoint: event.cashPoint?.index ?? null,
    device: event.device,
    location: event.location,
    scheme: event.scheme,
    remittance: event.remittance,
    scenario: event.scenario,
    originalSeq: event.originalSeq,
  };
}

/** Throws RangeError when an index does not exist in `population` (a state of another world). */
export function decodeEvent(encoded: EncodedEvent, population: Population): DraftEvent {
  const at = <T>(list: readonly T[], index: number, what: string): T => {
    const found = list[index];
    if (found === undefined) throw new RangeError(`scheduled event refers to ${what} ${index}, which does not exist`);
    return found;
  };
  const customer = at(population.customers, encoded.customer, 'customer');
  return {
    ...encoded,
    seq: -1,
    customer,
    card: encoded.card === null ? null : at(customer.cards, encoded.card, 'card'),
    terminal: encoded.terminal === null ? null : at(population.terminals, encoded.terminal, 'terminal'),
    cashPoint: encoded.cashPoint === null ? null : at(population.cashPoints, encoded.cashPoint, 'cash point'),
    fraud: encoded.scenario !== null,
    originalSeq: encoded.originalSeq ?? null,
    followUps: 0,
  };
}
