import type { TransactionRequest } from '../schemas/api.js';
import type { Transaction } from '../schemas/generated/types.js';

/** The fraud patterns the simulator injects. */
export const FraudScenario = {
  /** A terminal is compromised: every card used there for days is fraud. */
  compromisedTerminal: 'compromised_terminal',
  /** Card testing: bursts of tiny card-not-present amounts on a stolen card. */
  cardTesting: 'card_testing',
  /** Account takeover: new device, geo jump and a large transfer out. */
  accountTakeover: 'account_takeover',
  /** Leaked credentials: amount spikes (×5) on a card for days. */
  leakedCredentials: 'leaked_credentials',
  /** Structuring: cash deposits just under the reporting threshold, repeated. */
  structuring: 'structuring',
  /** Any card amount above a high threshold (the handbook's scenario 1). */
  highAmount: 'high_amount',
} as const;
export type FraudScenario = (typeof FraudScenario)[keyof typeof FraudScenario];

/** One generated transaction: as a bank would post it, as ingest would accept it, and its ground truth. */
export interface SimulatedTransaction {
  /** The HTTP body a bank's system would send (may carry a raw, Luhn-valid test card number). */
  readonly request: TransactionRequest;
  /**
   * The canonical record as ingest produces it (the card token here is the simulator's own stable stand-in,
   * since ingest's tokenisation key is secret). Training and evaluation use this directly.
   */
  readonly transaction: Transaction;
  readonly fraud: boolean;
  readonly scenario: FraudScenario | null;
}
