import type { ChannelName, TransactionRequest } from '../schemas/api.js';
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

/** Relative weights of the channels of genuine traffic (normalised; a missing channel gets no traffic). */
export type ChannelMix = Readonly<Partial<Record<ChannelName, number>>>;

/**
 * Options of `TrafficSimulator` (simulator/generator.ts). Every field has a default; the same options and
 * seed always produce the same stream.
 */
export interface SimulatorOptions {
  /** Integer seed of every random choice. Default 1. */
  readonly seed?: number;
  /** Epoch ms of the start of day 0; event times start here. Default 2018-04-01T00:00:00Z (the handbook's). */
  readonly startTimeMs?: number;
  /** Number of customers (card holders / payer accounts). Default 5,000. */
  readonly customers?: number;
  /** Number of merchant terminals on the grid. Default 10,000. */
  readonly terminals?: number;
  /**
   * Average over customers of their mean daily transaction count; each customer's own mean is uniform in
   * [0, 2 × this] and its daily count is Poisson (as the handbook's simulator). Default 2.
   */
  readonly meanTxPerCustomerPerDay?: number;
  /**
   * Multiplies the frequency of the fraud scenarios; 0 = no fraud. highAmount is a threshold on the genuine
   * amount distribution, so it is not scaled, only switched off at 0. Default 1 (≈ 1 % fraud).
   */
  readonly fraudScale?: number;
  /**
   * Channel weights of genuine traffic. Default card 0.8, sepa 0.06, wallet 0.05, p2p 0.04, cash 0.03,
   * ach 0.01, wire 0.01. Ignored in handbook mode (card only).
   */
  readonly channelMix?: ChannelMix;
  /**
   * Share of customers whose account is held in each ISO 4217 currency. They all live in the (euro-area)
   * grid region, so spending by GBP/USD account holders, and EUR holders' purchases from GB/US online
   * merchants, carry a settlement amount in the account currency (FX). Default EUR 0.9, GBP 0.06, USD 0.04.
   */
  readonly currencies?: Readonly<Record<string, number>>;
  /**
   * Mirror the handbook data set: card transactions only, EUR only, no foreign merchants, and only the
   * highAmount / compromisedTerminal / leakedCredentials scenarios. Default false.
   */
  readonly handbookMode?: boolean;
  /**
   * Start with the fraud state of a simulator that has already run for 28 days (compromised terminals and
   * leaked credentials active from the first transaction) instead of the handbook's ramp-up from zero.
   * Default: true, except in handbook mode.
   */
  readonly warmStart?: boolean;
  /**
   * Share of customers (0..1) whose account has a balance policy: set by an admin at the world's start, funded
   * with an opening balance and a salary every simulated day, so their debits can be declined for insufficient
   * funds (simulator/balance-policies.ts). Which customers depends only on the seed; a larger share adds
   * customers, never swaps them. Default 0 (every account unlimited, as in the handbook).
   */
  readonly policyShare?: number;
  /**
   * Card payments the way card networks send them (simulator/card-flows.ts): at hotels, car rentals, fuel pumps,
   * restaurants and online shops a share of purchases is an authorisation followed by its captures (full, split,
   * with a tip, a fuel pump's smaller actual amount, or never), and a few payments are refunded later. Follow-ups
   * come seconds to minutes after what they name, in event time. Default false (every payment is one message, as in
   * the handbook); always false in handbook mode. Live traffic (`npm start`) turns it on for a new world.
   */
  readonly cardFlows?: boolean;
}
