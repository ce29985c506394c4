/**
 * The JSON body of `POST /v1/transactions` (and each item of the batch endpoint): what a bank's systems
 * send. Ingest validates it, tokenises any card number and turns it into the canonical Avro `Transaction`.
 * Amounts are decimal strings ("12.34") in the currency's major unit, never JSON numbers (no float rounding).
 */
export interface MoneyRequest {
  /** Decimal string, at most the currency's ISO 4217 exponent of fraction digits, e.g. "12.34" for EUR. */
  readonly value: string;
  /** ISO 4217 alphabetic code, e.g. "EUR". */
  readonly currency: string;
}

export type ChannelName = 'card' | 'ach' | 'sepa' | 'wire' | 'wallet' | 'p2p' | 'cash';
export type KindName = 'purchase' | 'authorization' | 'capture' | 'refund' | 'transfer' | 'withdrawal' | 'deposit';

export interface TransactionRequest {
  /** The client's unique id for this transaction (1–128 chars of [A-Za-z0-9._:-]); the idempotency key. */
  readonly transactionId: string;
  readonly channel: ChannelName;
  /** Defaults from the channel: card → purchase, cash → withdrawal, others → transfer. */
  readonly kind?: KindName;
  readonly amount: MoneyRequest;
  /** The amount in the payer account's currency when it differs (FX); posted as FX legs. */
  readonly settlementAmount?: MoneyRequest;
  readonly payer: { readonly accountId: string; readonly customerId?: string };
  readonly payee: { readonly accountId: string };
  /**
   * Card channel: either a raw `number` (tokenised on arrival, never stored or logged; PCI DSS 3.2/3.4) or an
   * already tokenised `token` with `bin` and `last4`. A `cvv`/`cvc` field is rejected outright.
   */
  readonly card?: {
    readonly number?: string;
    readonly token?: string;
    readonly bin?: string;
    readonly last4?: string;
    readonly present?: boolean;
  };
  readonly merchant?: { readonly id?: string; readonly terminalId?: string; readonly mcc?: string };
  readonly device?: { readonly id?: string; readonly ip?: string };
  readonly location?: { readonly country?: string; readonly latitude?: number; readonly longitude?: number };
  readonly description?: string;
  readonly bankTransfer?: { readonly scheme: string; readonly endToEndId?: string; readonly remittanceInfo?: string };
  readonly channelReference?: string;
  /** ISO 8601 with offset, e.g. "2026-11-24T09:00:00.000Z"; defaults to the time ingest received it. */
  readonly eventTime?: string;
}

/** Per-item outcome of the batch endpoint (and the body of the single endpoint's 202). */
export interface IngestResult {
  readonly transactionId: string | null;
  readonly status: 'accepted' | 'duplicate' | 'rejected' | 'conflict';
  /** Where the record sits on the log, once accepted. */
  readonly partition?: number;
  readonly offset?: number;
  readonly problems?: ReadonlyArray<{ readonly path: string; readonly message: string }>;
}

/** The body of `POST /v1/labels`: an analyst's verdict on a transaction. */
export interface LabelRequest {
  readonly transactionId: string;
  readonly label: 'fraud' | 'genuine';
  readonly note?: string;
}
