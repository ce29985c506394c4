import type {
  AccountType,
  AnalystLabel,
  Channel,
  Decision,
  EntryType,
  FraudAlert,
  IngestSource,
  LabelValue,
  ReasonSource,
  ScoredTransaction,
  SourceDocument,
  TransactionKind,
} from './generated/types.js';

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
  /**
   * Money flows from payer to payee. `customerId` names the customer the transaction belongs to; when absent it is
   * the customer's account: the payer's, except for a deposit (payer: the bank's cash account; payee: the customer's).
   */
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
  /**
   * A capture: the authorization whose hold it settles (partially or in full); a refund: the payment it pays back.
   * Same payer account as the original. Only for kinds `capture` and `refund`.
   */
  readonly originalTransactionId?: string;
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

/** The body of the batch endpoint's 200: one result per item, in order, and how many ended each way. */
export interface IngestBatchResponse {
  readonly results: readonly IngestResult[];
  readonly summary: Readonly<Record<IngestResult['status'], number>>;
}

/** Per-item outcome of a channel file: the batch result, where the item was in the file and its references. */
export interface ChannelItemResult extends IngestResult {
  /** Element path, record number or line of the item in the file. */
  readonly location: string;
  /** The document's own ids for the item (MsgId, EndToEndId, UETR, …), as kept on the transaction. */
  readonly references: Readonly<Record<string, string>>;
}

/**
 * The 200 of a channel route (`POST /v1/channels/iso20022`): the file, whether it was received before (`duplicate`:
 * the same message id and bytes; each item is then a duplicate of itself, or rejected again), and one result per
 * item in file order, in the batch shape.
 */
export interface ChannelFileResponse {
  readonly file: {
    readonly format: string;
    readonly messageId: string;
    /** SHA-256 of the file's bytes. */
    readonly sha256: string;
    readonly status: 'new' | 'duplicate';
  };
  readonly results: readonly ChannelItemResult[];
  readonly summary: Readonly<Record<IngestResult['status'], number>>;
}

/**
 * The 200 of `POST /v1/decisions` (and of `GET /v1/decisions/{id}`): the decision on one transaction, made by the
 * same scoring stage and recorded in the same audit trail as a transaction sent to `POST /v1/transactions`.
 */
export interface SyncDecision {
  readonly transactionId: string;
  readonly decision: Decision;
  /** Model fraud probability in [0, 1]. */
  readonly score: number;
  /** The decision as a risk band: APPROVE → low, REVIEW → elevated, DECLINE → high. */
  readonly risk: 'low' | 'elevated' | 'high';
  /** Strongest first. */
  readonly reasons: ReadonlyArray<{
    readonly code: string;
    readonly source: ReasonSource;
    readonly description: string;
  }>;
  readonly modelVersion: string;
  readonly rulesVersion: string;
  /** ISO 8601, when scoring decided. */
  readonly decidedAt: string;
  /** `pending` until ledger-sink has posted it, then `posted`; a decline is `not_posted`. */
  readonly ledger: { readonly status: 'pending' | 'posted' | 'not_posted' };
}

/** The risk band of a decision, the one mapping both endpoints use. */
export function riskBand(decision: Decision): SyncDecision['risk'] {
  return decision === 'DECLINE' ? 'high' : decision === 'REVIEW' ? 'elevated' : 'low';
}

/**
 * The synchronous answer for one decision, as `POST /v1/decisions` and `GET /v1/decisions/{id}` give it (and the
 * `decision.made` webhook event carries).
 */
export function toSyncDecision(scored: ScoredTransaction): SyncDecision {
  return {
    transactionId: scored.transaction.transactionId,
    decision: scored.decision,
    score: scored.score,
    risk: riskBand(scored.decision),
    reasons: scored.reasons.map((r) => ({ code: r.code, source: r.source, description: r.description })),
    modelVersion: scored.modelVersion,
    rulesVersion: scored.rulesVersion,
    decidedAt: new Date(scored.scoredAtMs).toISOString(),
    // Posting follows on ledger-sink; a decline posts nothing. GET /v1/decisions/{id} reports the ledger's state.
    ledger: { status: scored.decision === 'DECLINE' ? 'not_posted' : 'pending' },
  };
}

/**
 * The 202 of `POST /v1/decisions` when the deadline passed first: the transaction is durable on the log and will
 * be decided and recorded as usual; fetch the decision from `decisionUrl`. Never an approval.
 */
export interface DecisionPending {
  readonly transactionId: string;
  readonly status: 'pending';
  readonly decisionUrl: string;
}

/** The body of `POST /v1/labels`: an analyst's verdict on a transaction. */
export interface LabelRequest {
  readonly transactionId: string;
  readonly label: 'fraud' | 'genuine';
  readonly note?: string;
}

// ---- Response bodies of dashboards' API (dashboards/http/routes.ts); its queries return these.

/**
 * The JSON shape of an amount in every dashboards response: a decimal string computed from bigint minor units by
 * the currency's ISO 4217 exponent, next to the exact minor units (a string: JSON numbers lose precision past 2^53).
 */
export interface MoneyView {
  /** Decimal string in the major unit, e.g. "12.34". */
  readonly amount: string;
  /** Exact minor units as a decimal integer string, e.g. "1234". */
  readonly amountMinor: string;
  readonly currency: string;
}

/** One decision found by `GET /v1/audit/search`. */
export interface AuditHit {
  readonly transactionId: string;
  readonly eventTime: string;
  readonly scoredAt: string;
  readonly decision: string;
  readonly score: number;
  readonly channel: string;
  readonly kind: string;
  readonly amount: MoneyView;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly cardToken: string | null;
  readonly cardLast4: string | null;
  readonly merchantId: string | null;
  readonly country: string | null;
  readonly description: string | null;
  readonly reasons: ReadonlyArray<{ readonly code: string; readonly description: string }>;
  readonly modelVersion: string;
  readonly rulesVersion: string;
}

/** The decided transaction as the audit trail shows it (absent optional fields are null). */
export interface DecidedTransactionView {
  readonly channel: Channel;
  readonly kind: TransactionKind;
  /** Where it came in; SIMULATOR marks the embedded simulator's traffic. */
  readonly source: IngestSource;
  /** Who submitted it: an API key's principal id (role and digest prefix, never the key), or an internal feed. */
  readonly submittedBy: string | null;
  readonly amount: MoneyView;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly customerId: string | null;
  /** `token` is null for roles that may not see card tokens (analyst; see dashboards/domain/visibility.ts). */
  readonly card: { readonly token: string | null; readonly last4: string | null } | null;
  readonly merchantId: string | null;
  readonly terminalId: string | null;
  readonly mcc: string | null;
  readonly deviceId: string | null;
  readonly country: string | null;
  readonly description: string | null;
  /**
   * The channel file it came in (ISO 20022 message, CSV upload): format, the document's own references (MsgId,
   * EndToEndId, UETR, …) and where in the file; null for JSON requests (Transaction v5).
   */
  readonly sourceDocument: SourceDocument | null;
}

/** An analyst's or chargeback's verdict as responses show it. */
export interface LabelView {
  readonly label: LabelValue;
  readonly labelledBy: string;
  readonly labelledAt: string;
  readonly note: string | null;
}

/** The body of `GET /v1/transactions/:id`: everything recorded about one transaction. */
export interface AuditTrail {
  readonly transactionId: string;
  /** The content hash ingest de-duplicates by; null for roles that may not see it (analyst). */
  readonly fingerprint: string | null;
  readonly transaction: DecidedTransactionView;
  readonly decision: {
    readonly outcome: Decision;
    /** The model's fraud probability alone. */
    readonly score: number;
    /** Model score plus rule risk (capped at 1): what met the thresholds; null for decisions from before it was kept. */
    readonly combinedRisk: number | null;
    readonly reasons: unknown;
    readonly reasonCodes: readonly string[];
    readonly rulesFired: readonly string[];
    readonly modelVersion: string;
    /** SHA-256 of the rules document (`GET /v1/rules/{version}`), or a label for decisions from before content versions. */
    readonly rulesVersion: string;
    /** Why the ledger could not post this transaction (`<error code>: <message>`); null when it could. */
    readonly unpostedReason: string | null;
  };
  /** Every feature value the model and rules saw; amounts in major units of `reportingCurrency` (`amount` in `unconvertedCurrency` when set). */
  readonly features: unknown;
  /**
   * ISO 4217 code of the currency the amount features are in (ScoredTransaction v6): scoring's reporting currency
   * when it decided. Null for decisions scored before v6, which did not record it (see that field's doc in
   * schemas/avro/ScoredTransaction.v6.avsc): never filled in from today's setting.
   */
  readonly reportingCurrency: string | null;
  /**
   * The transaction's debit currency when scoring had no rate from it to `reportingCurrency` (ScoredTransaction v6
   * `unconvertedCurrency`): then the `amount` feature is in major units of this currency, and the windows it joined
   * counted it unconverted. Null when it converted, and for decisions that did not record it.
   */
  readonly unconvertedCurrency: string | null;
  /** The canonical record exactly as scored (from `transaction_json`). */
  readonly input: unknown;
  readonly timeline: {
    readonly eventTime: string;
    readonly receivedAt: string;
    readonly scoredAt: string;
    readonly storedAt: string;
    readonly receivedToScoredMs: number;
    readonly scoredToStoredMs: number;
  };
  /** More than 1 means `decisions` holds the transaction more than once (it should not). */
  readonly decisionRecords: number;
  readonly ledgerEntries: ReadonlyArray<{
    readonly entryId: string;
    readonly leg: number;
    readonly accountId: string;
    readonly amount: MoneyView;
    readonly entryType: EntryType;
    readonly eventTime: string;
    readonly postedAt: string;
    /** The entry this leg reverses, else null. */
    readonly reversesEntryId: string | null;
  }>;
  /**
   * The pending hold of a REVIEW (two-phase postings): OPEN until a verdict posts or voids it, or its timeout
   * ends it; null for a transaction that never had one.
   */
  readonly hold: {
    /** REVIEW: waits for a verdict; AUTHORIZATION: waits for its captures (CAPTURED once they consumed it). */
    readonly kind: 'REVIEW' | 'AUTHORIZATION';
    readonly status: 'OPEN' | 'POSTED' | 'VOIDED' | 'CAPTURED';
    readonly placedAt: string;
    readonly expiresAt: string;
    readonly resolution: {
      readonly cause: 'FRAUD' | 'GENUINE' | 'EXPIRED' | 'CAPTURED';
      readonly resolvedBy: string;
      readonly resolvedAt: string;
    } | null;
    readonly legs: ReadonlyArray<{ readonly leg: number; readonly accountId: string; readonly amount: MoneyView }>;
    /** More than 1 means the hold was resolved twice (it must not be). */
    readonly resolutionRecords: number;
  } | null;
  readonly labels: readonly LabelView[];
  readonly conflicts: ReadonlyArray<{
    postedFingerprint: string | null;
    conflictingFingerprint: string | null;
    detectedAt: string;
    transaction: unknown;
  }>;
}

/** One REVIEW/DECLINE decision in the alert list. */
export interface AlertListItem {
  readonly transactionId: string;
  readonly decision: Decision;
  readonly score: number;
  readonly reasons: unknown;
  readonly channel: Channel;
  readonly kind: TransactionKind;
  readonly amount: MoneyView;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly cardLast4: string | null;
  readonly merchantId: string | null;
  readonly country: string | null;
  readonly modelVersion: string;
  readonly eventTime: string;
  readonly scoredAt: string;
  /** The most recent analyst verdict, if any. */
  readonly label: LabelView | null;
}

/** One row of the access log as `GET /v1/audit/access` answers it. */
export interface AccessLogEntry {
  /** ISO 8601, UTC, when the access was recorded (before it ran). */
  readonly at: string;
  /**
   * Who: for an API key, its role plus the first 8 hex chars of its digest (never the key); for a person, `user:<sub>`
   * (their subject at the OpenID provider).
   */
  readonly principal: string;
  /** A person's display name when they acted (preferred_username or name); null for API keys. */
  readonly principalName: string | null;
  readonly role: string;
  /** e.g. `transaction.audit-trail`, `label.create`, `live.open`. */
  readonly action: string;
  /** e.g. `transaction/tx-1`, `account/acc-9`, `alerts/live`. */
  readonly resource: string;
  /** The validated query the access ran with. */
  readonly query: unknown;
}

/** The body of `GET /v1/me`: who the presented key or token is, as the access log records them. */
export interface Caller {
  /** The principal id the access log names (`analyst:1a2b3c4d` for a key, `user:<sub>` for a person). */
  readonly id: string;
  readonly role: 'ingest' | 'analyst' | 'compliance' | 'admin';
  /** A person's display name; null for a key. */
  readonly name: string | null;
}

/** The body of `GET /v1/audit/access`, newest first. */
export interface AccessLogPage {
  readonly entries: readonly AccessLogEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/** The body of `GET /v1/alerts`. */
/**
 * `DELETE /v1/customers/{id}/personal-data`: the customer's data keys were destroyed, so every personal value
 * sealed under them reads as `"[erased]"` from now on, in every store. Pseudonymous identifiers, amounts, ledger
 * entries, decisions and their features stay (SECURITY.md, Personal data).
 */
export interface PersonalDataErasure {
  readonly customerId: string;
  readonly erasedAt: string;
  /** Key versions destroyed by this request; empty when an earlier erasure had destroyed them all. */
  readonly destroyedKeyVersions: readonly number[];
}

/** One decided transaction of a customer, as `GET /v1/customers/{id}/export` lists it. */
export interface CustomerExportTransaction {
  readonly transactionId: string;
  readonly eventTime: string;
  readonly receivedAt: string;
  /** The transaction as stored, personal values opened — or `"[erased]"` where the customer's key is destroyed. */
  readonly transaction: unknown;
  readonly decision: {
    readonly outcome: Decision;
    readonly score: number;
    readonly reasons: unknown;
    /** Amounts in major units of `reportingCurrency` (`amount` in `unconvertedCurrency` when set). */
    readonly features: unknown;
    /** The currency of the amount features (ScoredTransaction v6); null for decisions scored before v6. */
    readonly reportingCurrency: string | null;
    /** The debit currency when it had no rate and its `amount` went in unconverted; null when converted or not recorded. */
    readonly unconvertedCurrency: string | null;
  };
}

/**
 * `GET /v1/customers/{id}/export` (GDPR art. 15, 20): what Vigil holds about one customer (data subject) — every
 * decided transaction whose customer it is, oldest first, and the state of their data keys.
 */
export interface CustomerExport {
  readonly customerId: string;
  readonly generatedAt: string;
  readonly personalData: {
    /** `held`: sealed values are readable; `erased`: the customer's keys are destroyed; `none`: nothing was sealed. */
    readonly status: 'held' | 'erased' | 'none';
    readonly heldKeyVersions: readonly number[];
    readonly destroyedKeyVersions: readonly number[];
    readonly lastErasedAt: string | null;
  };
  readonly transactions: readonly CustomerExportTransaction[];
  /** Pass back as `cursor` for the next page; null on the last. */
  readonly nextCursor: string | null;
}

export interface AlertPage {
  readonly alerts: readonly AlertListItem[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * The body of `GET /v1/accounts/:id/balance`, per currency (TigerBeetle's model): `posted` is what booked entries
 * sum to; `pendingDebits` / `pendingCredits` are what open holds (REVIEWs awaiting a verdict) would take out and
 * put in; `available` = posted − pending debits + overdraft limit (pending credits are not spendable until
 * posted; the limit counts only in the account's currency). An account with a policy always has a line in its
 * currency, even before the ledger saw it.
 */
export interface AccountBalance {
  readonly accountId: string;
  readonly balances: ReadonlyArray<{
    readonly currency: string;
    readonly posted: MoneyView;
    readonly pendingDebits: MoneyView;
    readonly pendingCredits: MoneyView;
    readonly available: MoneyView;
    /** How far below zero `available` may go: the account's policy, in its currency; null elsewhere or unlimited. */
    readonly overdraftLimit: MoneyView | null;
    /** Booked legs on the account in this currency. */
    readonly entries: number;
    /** Open holds with a leg on the account in this currency. */
    readonly openHolds: number;
    /** Booking time of the last booked leg; null when only holds exist. */
    readonly lastBookedAt: string | null;
  }>;
  readonly entryCount: number;
}

/** An account type as the API spells it: the Avro `AccountType` in lower case (`customer`, `fx_position`, …). */
export type AccountTypeName = Lowercase<AccountType>;

/**
 * The side on which an account type's balance normally stands, from the bank's point of view: `credit` for what
 * the bank owes (customer deposits, merchants' funds: liabilities), `debit` for what it holds or is owed (assets).
 * The ledger signs amounts credit-positive, so a credit-normal account's balance is the sum of its legs and a
 * debit-normal account's is minus that sum. Each type's side: dashboards/domain/accounts.ts `normalSides`.
 */
export type NormalSide = 'debit' | 'credit';

/**
 * The body of `PUT /v1/accounts/:id` (admin): the account's type and currency, and its balance policy. Without a
 * `policy` (or with `null`) the account has no limit: debits may take it below zero without bound.
 */
export interface AccountRequest {
  readonly type: AccountTypeName;
  /** ISO 4217 alphabetic code, upper case, e.g. "EUR". */
  readonly currency: string;
  readonly policy?: {
    /** How far below zero debits may take the available balance: ≥ 0, in the account's currency. */
    readonly overdraftLimit: MoneyRequest;
  } | null;
  /**
   * The payment scheme a `clearing` or `settlement` account serves (`SEPA_CT`, `ACH`, `SWIFT`, `CARD`, …: upper-case
   * letters, digits and `_`), compared with a transaction's `bankTransfer.scheme`, else its channel; absent or null:
   * none. Refused on other types.
   */
  readonly scheme?: string | null;
}

/** An account of the chart of accounts as an admin set it (`GET`/`PUT /v1/accounts/:id`, `GET /v1/accounts`). */
export interface ConfiguredAccountView {
  readonly accountId: string;
  readonly type: AccountTypeName;
  /** The type's normal side (see NormalSide). */
  readonly normalSide: NormalSide;
  readonly currency: string;
  /** The scheme of a clearing or settlement account; null otherwise or when none was set. */
  readonly scheme: string | null;
  /** null: no policy, the account may go below zero without limit. */
  readonly policy: { readonly overdraftLimit: MoneyView } | null;
  /** The principal that set it, as the access log names it (e.g. `admin:1a2b3c4d`). */
  readonly updatedBy: string;
  /** ISO 8601. */
  readonly updatedAt: string;
  readonly configured: true;
}

/** An account no admin has set: the documented default, a customer with no currency and no limit. */
export interface DefaultAccountView {
  readonly accountId: string;
  readonly type: AccountTypeName;
  readonly normalSide: NormalSide;
  readonly currency: string | null;
  readonly scheme: null;
  readonly policy: null;
  readonly configured: false;
}

/** The body of `GET /v1/accounts/:id` (200 either way; `configured` tells them apart). */
export type AccountView = ConfiguredAccountView | DefaultAccountView;

/** The body of `GET /v1/accounts`: the chart of accounts, sorted by account id. */
export interface AccountList {
  readonly accounts: readonly ConfiguredAccountView[];
  /** Accounts in the chart, listed or not. */
  readonly total: number;
  /** True when the chart holds more than `limit` accounts; `accounts` then stops early. */
  readonly truncated: boolean;
}

/** One entry of an account statement. */
export interface StatementLine {
  readonly entryId: string;
  readonly transactionId: string;
  readonly leg: number;
  readonly entryType: string;
  /** Value date: the event's own time, as the client sent it. */
  readonly eventTime: string;
  /** Booking time: when Vigil booked the leg; statements are cut and ordered by it. */
  readonly postedAt: string;
  /** The entry this leg reverses (a FRAUD verdict on booked money), else null. */
  readonly reversesEntryId: string | null;
  readonly amount: MoneyView;
  /** Balance of the account in this currency after this entry. */
  readonly balanceAfter: MoneyView;
}

/** The body of `GET /v1/accounts/:id/statement`. */
export interface AccountStatement {
  readonly accountId: string;
  readonly from: string;
  readonly to: string;
  /** Per currency: balance before `from` and after `to` (both exact, whatever `limit` cut off). */
  readonly currencies: ReadonlyArray<{
    currency: string;
    opening: MoneyView;
    closing: MoneyView;
    entriesInPeriod: number;
  }>;
  readonly lines: readonly StatementLine[];
  /** True when the period holds more than `limit` entries; `lines` then stops early. */
  readonly truncated: boolean;
  /** Holds on the account placed before `to` and not resolved by then: reserved, not booked. */
  readonly openHoldsAtEnd: ReadonlyArray<{
    readonly transactionId: string;
    readonly amount: MoneyView;
    readonly placedAt: string;
    readonly expiresAt: string;
  }>;
}

/** The body of `GET /v1/reports/summary`. Money sums are exact (Int128 in ClickHouse, decimal strings here). */
export interface SummaryReport {
  readonly from: string;
  readonly to: string;
  /** The `source` filter the report was asked for; null when it covers every source. */
  readonly source: IngestSource | null;
  /** The `excludeSource` filter (e.g. SIMULATOR: real traffic only); null when no source is left out. */
  readonly excludeSource: IngestSource | null;
  readonly totals: { readonly transactions: number; readonly alerts: number; readonly alertRate: number | null };
  /** The totals per source (simulated traffic apart from real); sources without transactions are left out. */
  readonly bySource: ReadonlyArray<{
    readonly source: IngestSource;
    readonly transactions: number;
    readonly alerts: number;
  }>;
  /** Per channel and currency: count and exact amount, overall and per decision. */
  readonly volumes: ReadonlyArray<{
    channel: string;
    currency: string;
    count: number;
    amount: MoneyView;
    byDecision: Record<string, { count: number; amount: MoneyView }>;
  }>;
  /** Transactions of the period whose latest label is FRAUD, over those labelled at all. */
  readonly labels: {
    readonly labelled: number;
    readonly fraud: number;
    readonly genuine: number;
    readonly fraudRate: number | null;
  };
  readonly scoreHistogram: { readonly bucketWidth: number; readonly counts: readonly number[] };
}

/**
 * The codes of the trial balance's reconciliation findings; what each checks is documented where they are found
 * (dashboards/domain/trial-balance.ts `TrialBalanceFindingCode`).
 */
export type TrialBalanceFindingCode =
  | 'CURRENCY_NOT_BALANCED'
  | 'TRANSACTION_NOT_BALANCED'
  | 'SUSPENSE_NOT_CLEARED'
  | 'BEYOND_OVERDRAFT_LIMIT'
  | 'FX_POSITION_MISMATCH'
  | 'CLEARING_UNEXPLAINED'
  | 'CLEARING_BYPASSED'
  | 'CLEARING_WITHOUT_SCHEME';

/** Something in the ledger that does not reconcile, with the figures the check compared. */
export interface TrialBalanceFinding {
  readonly code: TrialBalanceFindingCode;
  /** `error`: the books are wrong; `warning`: the books hold, but something needs looking into. */
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** What the finding concerns; null where it does not apply. */
  readonly accountType: AccountTypeName | null;
  readonly currency: string | null;
  readonly accountId: string | null;
  readonly transactionId: string | null;
  readonly scheme: string | null;
  /** The figures compared, by name: money exactly, counts as numbers. */
  readonly figures: Readonly<Record<string, MoneyView | number>>;
}

/** One line of the trial balance: every booked leg on accounts of one type, in one currency. */
export interface TrialBalanceLine {
  readonly type: AccountTypeName;
  readonly normalSide: NormalSide;
  readonly currency: string;
  /** Accounts of the type with legs in the currency. */
  readonly accounts: number;
  readonly entries: number;
  /** Sum of the debit legs, as a positive amount. */
  readonly debits: MoneyView;
  /** Sum of the credit legs, as a positive amount. */
  readonly credits: MoneyView;
  /** credits − debits (the ledger's own, credit-positive sign). */
  readonly net: MoneyView;
  /** The balance on the type's normal side: `net` when credit-normal, −`net` when debit-normal. */
  readonly normalBalance: MoneyView;
}

/**
 * The body of `GET /v1/reports/trial-balance`: debits and credits per account type and currency, the per-currency
 * totals, the largest accounts, the clearing accounts against their schemes, and every finding that does not
 * reconcile. Money sums are exact (Int128 in ClickHouse, decimal strings here).
 */
export interface TrialBalance {
  /** True when every currency sums to exactly zero and no transaction is unbalanced. */
  readonly balanced: boolean;
  /** True when there are no findings at all. */
  readonly reconciled: boolean;
  /** By account type (in the order of the Avro enum), then currency. */
  readonly lines: readonly TrialBalanceLine[];
  /** Per currency over every account: debits and credits as positive amounts; `total` (credits − debits) must be 0. */
  readonly currencies: ReadonlyArray<{
    currency: string;
    total: MoneyView;
    entries: number;
    debits: MoneyView;
    credits: MoneyView;
  }>;
  /** The `top` accounts with the largest absolute balance in a currency. */
  readonly accounts: ReadonlyArray<{
    accountId: string;
    type: AccountTypeName;
    normalSide: NormalSide;
    /** The net (credit-positive). */
    balance: MoneyView;
    normalBalance: MoneyView;
    entries: number;
  }>;
  /**
   * Every clearing account with a scheme, per currency it has legs in: its balance = the legs of its scheme's
   * transactions + the legs of settlements (transactions with a leg on a settlement account) + `unexplained`.
   */
  readonly clearing: ReadonlyArray<{
    accountId: string;
    scheme: string;
    currency: string;
    balance: MoneyView;
    schemeFlows: MoneyView;
    settlements: MoneyView;
    unexplained: MoneyView;
  }>;
  /** Errors first, then warnings; at most 100 TRANSACTION_NOT_BALANCED (ledger-integrity counts them all). */
  readonly findings: readonly TrialBalanceFinding[];
}

/**
 * The body of `GET /v1/reports/large-cash`: per currency, cash transactions at or above its reporting threshold and
 * structuring patterns (repeated cash just under it), attributed to the customer whose account receives or gives
 * the cash.
 */
export interface LargeCashReport {
  readonly from: string;
  readonly to: string;
  /** "Just under" means within this percentage below the threshold. */
  readonly bandPercent: number;
  /** Transactions just under the threshold within 7 days that make a structuring pattern. */
  readonly minTransactions: number;
  readonly currencies: ReadonlyArray<{
    readonly currency: string;
    readonly threshold: MoneyView;
    readonly largeTransactions: ReadonlyArray<{
      transactionId: string;
      kind: string;
      amount: MoneyView;
      payerAccountId: string;
      payeeAccountId: string;
      customerId: string | null;
      /** The customer's side: the payee of a DEPOSIT, the payer of a WITHDRAWAL. */
      customerAccountId: string;
      eventTime: string;
      decision: string;
    }>;
    readonly structuring: ReadonlyArray<{
      /** The customer the transactions name; null when they name none (then the pattern is per account). */
      customerId: string | null;
      /** The customer's accounts the cash went into (DEPOSIT) or came out of (WITHDRAWAL). */
      customerAccountIds: readonly string[];
      kind: string;
      /** Most just-under-threshold transactions of this kind within any 7 days. */
      transactionsIn7Days: number;
      windowStart: string;
      windowTotal: MoneyView;
      transactionIds: readonly string[];
    }>;
  }>;
  /** Currencies with cash transactions in the period but no threshold configured: not analysed. */
  readonly currenciesWithoutThreshold: readonly string[];
}

/**
 * The body of `GET /v1/reports/ledger-integrity`: counters that prove the ledger neither lost nor double-counted
 * anything (operators read it; the e2e and fault tests assert on it).
 */
export interface LedgerIntegrity {
  readonly decisionRows: number;
  readonly distinctDecisions: number;
  /** Distinct transactions with booked legs (approved, or a hold posted). */
  readonly postedTransactions: number;
  readonly entries: number;
  readonly duplicateEntries: number;
  /** Transactions whose legs do not sum to zero in some currency. */
  readonly unbalancedTransactions: number;
  /** Declined transactions that nevertheless have ledger entries (must be 0). */
  readonly declinedWithEntries: number;
  /** Distinct APPROVE decisions of kinds that move money: the ones the ledger books when decided. */
  readonly postableDecisions: number;
  /**
   * Decisions on transactions the ledger could not post (`unposted_reason` set, e.g. a reserved account id): left
   * out of the postable and held counts above, as they book nothing by design.
   */
  readonly unpostableDecisions: number;
  /** Approved transactions, and holds resolved POSTED, with no rows in `ledger_entries` (lost postings; must be 0). */
  readonly decisionsWithoutEntries: number;
  /** Transactions with rows in `ledger_entries` but none in `decisions` (postings without an audit record; must be 0). */
  readonly entriesWithoutDecisions: number;
  readonly conflicts: number;
  /** Distinct REVIEW decisions of kinds that move money: each must have exactly one hold. */
  readonly heldDecisions: number;
  /** Held decisions without a hold (lost holds; must be 0). */
  readonly reviewsWithoutHolds: number;
  /**
   * REVIEW holds by state: placed and not resolved, resolved POSTED, resolved VOIDED (of these, by expiry:
   * `expiredHolds`). Authorisations' holds are counted apart, in `authorizationHolds`.
   */
  readonly openHolds: number;
  readonly postedHolds: number;
  readonly voidedHolds: number;
  readonly expiredHolds: number;
  /** Holds with more than one resolution (must be 0). */
  readonly holdsResolvedTwice: number;
  /** Held transactions with booked legs but no POSTED resolution (money moved without approval; must be 0). */
  readonly entriesOfUnpostedHolds: number;
  /** Transactions with reversal legs (a FRAUD verdict on booked money). */
  readonly reversedTransactions: number;
  /** Legs reversed more than once, and reversal legs naming no booked leg (both must be 0). */
  readonly entriesReversedTwice: number;
  readonly reversalsWithoutOriginal: number;
  /** AUTHORIZATION holds by state: waiting for captures, consumed in full by them, voided (FRAUD or expiry). */
  readonly authorizationHolds: { readonly open: number; readonly captured: number; readonly voided: number };
  /**
   * Card-flow business exceptions, reported, never refused (the network moved the money), so not must-be-zero:
   * authorisations whose captures booked more than their payer leg on its account, currency and side; capture
   * transactions whose legs name an id with no AUTHORIZATION hold; refund transactions whose legs name an id with no
   * ledger entries.
   */
  readonly overCapturedAuthorizations: number;
  readonly capturesWithoutAuthorization: number;
  readonly refundsWithoutOriginal: number;
  /** Payments whose refunds credited their payer more than the payment debited it (payer leg, same currency). */
  readonly refundsBeyondOriginal: number;
  readonly totalsByCurrency: ReadonlyArray<{ readonly currency: string; readonly sumMinor: string }>;
}

/**
 * The body of `GET /v1/audit/search`: `total` when the count is exact, `totalAtLeast` once counting stopped at
 * its cap, never both; `nextCursor` is null on the last page.
 */
export type AuditSearchResponse = {
  readonly hits: readonly AuditHit[];
  readonly nextCursor: string | null;
} & ({ readonly total: number } | { readonly totalAtLeast: number });

/** The body of the 202 of `POST /v1/labels`: the AnalystLabel as put on analyst.labels, and where it sits. */
export interface LabelAccepted {
  readonly status: 'accepted';
  readonly label: AnalystLabel & { readonly labelledAt: string };
  readonly partition: number | null;
  readonly offset: number | null;
}

// ---- Messages of the live WebSocket (dashboards/ws/live-hub.ts, `WS /v1/alerts/live`), server → client.

/** Sent once, on connect. */
export interface LiveHelloMessage {
  readonly type: 'hello';
  readonly protocol: string;
  /** Who the server authenticated (a key's id, never the key). */
  readonly principal: string;
  readonly statsIntervalMs: number;
  /**
   * Where this connection's stream starts: the id presented as `?lastEventId=` when it was valid, else the
   * current position. A client that reconnects with it misses nothing even if no alert arrived in between.
   */
  readonly eventId: string;
  /** True when the client presented `?lastEventId=`: a catch-up follows, ended by `caught-up` or `gap`. */
  readonly resuming: boolean;
}

/**
 * Each new fraud alert, once per alert id; the FraudAlert as JSON (its amount as a decimal string of minor
 * units). `eventId` is the stream position just after this alert: present it as `?lastEventId=` to resume.
 */
export interface LiveAlertMessage {
  readonly type: 'alert';
  readonly eventId: string;
  readonly alert: Omit<FraudAlert, 'amountMinor'> & { readonly amountMinor: string };
}

/** The catch-up of a resuming client is complete: `replayed` missed alerts were sent; live alerts follow. */
export interface LiveCaughtUpMessage {
  readonly type: 'caught-up';
  readonly replayed: number;
  readonly eventId: string;
}

/** Why a resuming client did not get everything it missed. */
export type LiveGapReason =
  /** More alerts were missed than one catch-up replays (VIGIL_DASHBOARDS_WS_MAX_CATCH_UP). */
  | 'too-many-missed'
  /** The presented id is malformed or not a position of this log. */
  | 'unknown-event-id'
  /** Reading the log failed (it may have been truncated by retention). */
  | 'replay-failed';

/**
 * Alerts before `eventId` that this client missed were not (all) sent: reload them from `GET /v1/alerts`.
 * Live alerts follow. `missedAtMost` bounds how many (it counts log records), null when unknown.
 */
export interface LiveGapMessage {
  readonly type: 'gap';
  readonly reason: LiveGapReason;
  readonly missedAtMost: number | null;
  readonly detail: string;
  readonly eventId: string;
}

/** `{type: "stats"}`: the live decision mix, score histogram and alert latency, every statsIntervalMs. */
export interface LiveStatsMessage {
  readonly type: 'stats';
  readonly atMs: number;
  readonly windowSeconds: number;
  /** Scored transactions per second over the last `throughputSeconds`. */
  readonly throughputPerSecond: number;
  readonly scoredInWindow: number;
  readonly decisionMix: { readonly APPROVE: number; readonly REVIEW: number; readonly DECLINE: number };
  /** counts[i] = scores in [i/10, (i+1)/10); the last bucket includes 1.0. */
  readonly scoreHistogram: { readonly bucketWidth: number; readonly counts: readonly number[] };
  /** Ingest→alert latency (alert arrival here − receivedAtMs), ms; null when no alert arrived in the window. */
  readonly alertLatencyMs: {
    readonly samples: number;
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly max: number | null;
  };
}

/** Alerts dropped while this client read too slowly (its outbox was full). */
export interface LiveDroppedMessage {
  readonly type: 'dropped';
  readonly count: number;
}

export type LiveMessage =
  | LiveHelloMessage
  | LiveAlertMessage
  | LiveCaughtUpMessage
  | LiveGapMessage
  | (LiveStatsMessage & { readonly clients: number })
  | LiveDroppedMessage
  | LiveCaseMessage;

/** The body of `GET /v1/rules/{version}`: an archived rules document, as scoring loaded it. */
export interface RulesVersionView {
  /** SHA-256 (hex) of the document's canonical JSON: what decisions record as `rulesVersion`. */
  readonly version: string;
  /** The document's own `version` field (a human label such as 2024.11.1). */
  readonly label: string;
  /** When a scoring instance first loaded it (ISO 8601 UTC). */
  readonly firstLoadedAt: string;
  /** The rules document, in the format of `scoring/rules.json`. */
  readonly rules: unknown;
}

/** The body of `PUT /v1/shadow`: a challenger's rules document, a candidate model's version, or both. */
export interface ShadowRequest {
  /** A rules document in the format of `scoring/rules.json`, validated whole; absent: the champion's rules. */
  readonly rules?: unknown;
  /** A candidate model's version (its metadata.json `version`) in the candidates directory; absent: the champion's model. */
  readonly modelVersion?: string;
}

/** The champion-challenger setting, as `GET /v1/shadow` and the 202s of the shadow routes show it. */
export interface ShadowSettingView {
  /** PUT, DELETE or PROMOTE: the change that made this setting. */
  readonly change: string;
  /** The challenger, or null when none is set. */
  readonly challenger: {
    /** Content version of its rules; null: it decides with the champion's rules. */
    readonly rulesVersion: string | null;
    readonly rulesLabel: string | null;
    /** Its candidate model; null: it scores with the champion's model. */
    readonly modelVersion: string | null;
  } | null;
  /** The candidate a promotion made champion; null while the configured model directory's decides. */
  readonly championModelVersion: string | null;
  readonly changedBy: string;
  /** ISO 8601 UTC. */
  readonly changedAt: string;
}

/** One side's alert counts and, on the labelled transactions, how its alerts met the labels. */
export interface ShadowSideReport {
  /** REVIEW + DECLINE decisions. */
  readonly alerts: number;
  /** alerts / transactions; null without transactions. */
  readonly alertRate: number | null;
  /** Alerted and labelled FRAUD. */
  readonly truePositives: number;
  /** Alerted and labelled GENUINE. */
  readonly falsePositives: number;
  /** Approved and labelled FRAUD. */
  readonly falseNegatives: number;
  /** truePositives / (truePositives + falsePositives); null when it alerted on no labelled transaction. */
  readonly precision: number | null;
  /** truePositives / labelled FRAUD; null without a FRAUD label. */
  readonly recall: number | null;
}

/** Champion against challenger for one pair of versions (`GET /v1/shadow/report`). */
export interface ShadowPairReport {
  readonly champion: { readonly modelVersion: string; readonly rulesVersion: string };
  readonly challenger: { readonly modelVersion: string; readonly rulesVersion: string };
  /** Transactions both decided in the period. */
  readonly transactions: number;
  /** Of those, with an analyst's or chargeback verdict (the latest verdict counts). */
  readonly labelled: number;
  readonly labelledFraud: number;
  readonly championSide: ShadowSideReport;
  readonly challengerSide: ShadowSideReport;
  /** Same decision on both sides. */
  readonly agreeing: number;
  /** agreeing / transactions; null without transactions. */
  readonly agreementRate: number | null;
  /** matrix[champion decision][challenger decision] = transactions. */
  readonly matrix: Readonly<Record<Decision, Readonly<Record<Decision, number>>>>;
}

/** `GET /v1/shadow/report`: every version pair with shadow decisions scored in [from, to). */
export interface ShadowReport {
  readonly from: string;
  readonly to: string;
  readonly pairs: readonly ShadowPairReport[];
}

/** The rules in force, as `GET /v1/rules/active` and the 202 of `PUT /v1/rules` show them. */
export interface ActiveRulesView {
  /** SHA-256 (hex) of the document's canonical JSON: what decisions made with these rules record as `rulesVersion`. */
  readonly version: string;
  /** The document's own `version` field. */
  readonly label: string;
  /** The admin who put them in force. */
  readonly publishedBy: string;
  /** When (ISO 8601 UTC). */
  readonly publishedAt: string;
  /** The rules document, in the format of `scoring/rules.json`. */
  readonly rules: unknown;
}

/** A managed API key as `GET /v1/api-keys` lists it: never the secret, never its digest. */
export interface ApiKeyView {
  readonly keyId: string;
  readonly role: string;
  readonly name: string;
  /** The id requests made with this key are recorded under in the access log and audit trail. */
  readonly principalId: string;
  /** Whether the key is accepted now. */
  readonly status: 'active' | 'expired' | 'revoked';
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  /** The key that replaced this one in a rotation. */
  readonly rotatedTo: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

/** The body of `GET /v1/api-keys`. */
export interface ApiKeyList {
  readonly keys: readonly ApiKeyView[];
}

/** The 201 of `POST /v1/api-keys` (and of a rotation): the only time the secret `key` is ever shown. */
export interface ApiKeyCreated extends ApiKeyView {
  readonly key: string;
}

// ---- Cases (dashboards/http/case-routes.ts, `/v1/cases`).

export type CaseStateName = 'open' | 'assigned' | 'investigating' | 'resolved';
export type CaseResolutionName = 'fraud' | 'genuine' | 'escalated';

/** A release of held payments (a GENUINE resolution) above the four-eyes limit, waiting for a second analyst. */
export interface PendingReleaseView {
  readonly requestedBy: string;
  readonly requestedByName: string | null;
  readonly requestedAt: string;
  readonly note: string | null;
}

/** One case as `GET /v1/cases` lists it. */
export interface CaseSummary {
  readonly caseId: string;
  /** What its alerts share: `customer:<payer account>` or `card:<token>` (`card:[withheld]` to analysts). */
  readonly groupKey: string;
  readonly state: CaseStateName;
  readonly resolution: CaseResolutionName | null;
  /** The principal id of the analyst working it; null while open. */
  readonly assignee: string | null;
  /**
   * Sum over its alerts of risk × amount as an exact decimal integer string: the score in basis points times the
   * amount in ten-thousandths of its currency's major unit (no exchange rates).
   */
  readonly priority: string;
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
  /** Open for this long (until resolution, for a resolved case). */
  readonly ageMs: number;
  /** When the SLA (VIGIL_CASES_SLA_MINUTES after opening) runs out. */
  readonly slaDueAt: string;
  /** Unresolved past the SLA, or resolved after it. */
  readonly slaBreached: boolean;
  readonly alertCount: number;
  readonly pendingRelease: PendingReleaseView | null;
}

/** The body of `GET /v1/cases`: one page, sorted as asked; `next` is the cursor of the page after, null at the end. */
export interface CasePage {
  readonly cases: readonly CaseSummary[];
  readonly next: string | null;
}

/** A REVIEW or DECLINE alert in a case. */
export interface CaseAlertView {
  readonly alertId: string;
  readonly transactionId: string;
  readonly decision: 'REVIEW' | 'DECLINE' | 'APPROVE';
  readonly score: number;
  readonly amount: MoneyView;
  readonly payerAccountId: string;
  readonly eventTime: string;
  readonly raisedAt: string;
}

/** One step of a case's history: who did what, when. */
export interface CaseHistoryView {
  readonly eventId: string;
  readonly action: 'ALERT' | 'ASSIGN' | 'NOTE' | 'INVESTIGATE' | 'RESOLVE' | 'APPROVE_RELEASE';
  readonly by: string;
  readonly byName: string | null;
  readonly at: string;
  readonly alertId: string | null;
  readonly assignee: string | null;
  readonly note: string | null;
  readonly resolution: CaseResolutionName | null;
  /** A GENUINE resolution that waits for a second analyst's approval. */
  readonly awaitsApproval: boolean;
  /** An alert that joined while a release waited for approval, withdrawing it (the approval covered fewer payments). */
  readonly withdrewRelease: boolean;
}

/** The body of `GET /v1/cases/{id}`: the case, its alerts, its history and each alerted transaction's hold. */
export interface CaseView extends CaseSummary {
  readonly alerts: readonly CaseAlertView[];
  readonly history: readonly CaseHistoryView[];
  /** Per alerted transaction: its hold (null when it never had one) and whether the ledger reversed its entries. */
  readonly holds: ReadonlyArray<{
    readonly transactionId: string;
    readonly hold: AuditTrail['hold'];
    readonly reversed: boolean;
  }>;
}

/**
 * Where the ledger stands on one transaction of a timeline: `posted` (legs booked; a captured authorisation too, its
 * captures booked it), `held` (a hold waits for a verdict or its captures), `reversed` (booked, then reversed, e.g. by
 * a fraud verdict) or `not_posted` (declined, voided, refused by the ledger, or not stored yet).
 */
export type LedgerStatusName = 'posted' | 'held' | 'reversed' | 'not_posted';

/** Which of the case's keys a timeline transaction matched: one of the case's cards, one of its customers, or both. */
export type TimelineMatch = 'card' | 'customer';

/** One transaction in a case's timeline, as the audit trail shows it (no card token: see `GET /v1/cases/{id}/timeline`). */
export interface TimelineItem {
  readonly transactionId: string;
  readonly eventTime: string;
  readonly channel: string;
  readonly kind: string;
  readonly amount: MoneyView;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly merchantId: string | null;
  readonly cardLast4: string | null;
  /** Personal free text, sealed per customer: `"[erased]"` once the customer's keys are destroyed. */
  readonly description: string | null;
  readonly decision: 'APPROVE' | 'REVIEW' | 'DECLINE';
  readonly score: number;
  /** The first reason the decision recorded (the strongest), or null when it recorded none. */
  readonly topReasonCode: string | null;
  readonly ledger: LedgerStatusName;
  readonly matchedBy: readonly TimelineMatch[];
  /** One of the case's own alerted transactions. */
  readonly inCase: boolean;
}

/** The body of `GET /v1/cases/{id}/timeline`: newest first; `nextCursor` is null on the last page. */
export interface CaseTimeline {
  readonly items: readonly TimelineItem[];
  readonly nextCursor: string | null;
}

/** The body of `POST /v1/cases/{id}/actions`. */
export type CaseActionRequest =
  /** To the caller when `assignee` is absent. */
  | { readonly action: 'assign'; readonly assignee?: string }
  | { readonly action: 'note'; readonly note: string }
  | { readonly action: 'investigate' }
  | { readonly action: 'resolve'; readonly resolution: CaseResolutionName; readonly note?: string }
  | { readonly action: 'approve-release'; readonly note?: string };

/** The 200 of `POST /v1/cases/{id}/actions`: the case after the action, and the labels it put on analyst.labels. */
export interface CaseActionResult {
  readonly case: CaseSummary;
  /** One per alerted transaction for a fraud or (approved) genuine resolution; 0 otherwise. */
  readonly labelsSent: number;
}

/** `{type: "case"}` on the live WebSocket: a step just applied to a case, and the case after it. */
export interface LiveCaseMessage {
  readonly type: 'case';
  readonly action: CaseHistoryView['action'];
  readonly by: string;
  readonly at: string;
  readonly case: CaseSummary;
}
