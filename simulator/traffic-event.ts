import type { ChannelName, KindName } from '../schemas/api.js';
import { convertMinor } from './money.js';
import type {
  CardProfile,
  CashPointProfile,
  CustomerProfile,
  DeviceProfile,
  TerminalProfile,
  TxLocation,
} from './population.js';
import type { FraudScenario } from './types.js';

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
  /**
   * The `seq` of the event this one follows up (simulator/card-flows.ts): a capture's authorisation, a refund's
   * payment (a purchase or a capture); sent as `originalTransactionId`. Null for everything else.
   */
  readonly originalSeq: number | null;
  /**
   * How many follow-ups naming this event (captures of an authorisation, a refund of a payment) were scheduled
   * when it was emitted. Ground truth for checks, never sent; 0 without card flows.
   */
  readonly followUps: number;
}

/** A TrafficEvent while it is built and scheduled; `seq` is assigned when it is emitted. */
export type DraftEvent = { -readonly [K in keyof TrafficEvent]: TrafficEvent[K] };

/** The optional parts of an event; what a channel does not have stays null. */
export type EventExtras = Partial<
  Pick<
    DraftEvent,
    'card' | 'cardPresent' | 'terminal' | 'cashPoint' | 'device' | 'location' | 'scheme' | 'remittance' | 'scenario'
  >
>;

/**
 * A new, unsequenced event of `customer`. An amount in another currency than the customer's account gets its
 * settlement amount in the account currency (FX); an event with a scenario is fraud.
 */
export function draftEvent(
  customer: CustomerProfile,
  timeMs: number,
  day: number,
  channel: ChannelName,
  kind: KindName,
  amountMinor: number,
  currency: string,
  payerAccountId: string,
  payeeAccountId: string,
  extra: EventExtras,
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
    originalSeq: null,
    followUps: 0,
  };
}

/** A card purchase of `customer` at `terminal`, in the terminal's currency. */
export function cardDraft(
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
  return draftEvent(
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
