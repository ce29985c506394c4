/**
 * The webhook contract: the event types Vigil delivers to downstream systems, the envelope every delivery
 * carries, how it is signed, and the admin API's request and response shapes. Integrators code against this
 * file's documentation (README "Webhooks"); the notifier stage produces exactly these shapes.
 */
import type { MoneyRequest, SyncDecision } from './api.js';
import type { Channel, Decision, EntryType, TransactionKind } from './generated/types.js';

/** Every event type an endpoint can subscribe to. */
export const WebhookEventType = {
  /** Scoring decided on a transaction (every decision: APPROVE, REVIEW and DECLINE). */
  decisionMade: 'decision.made',
  /** A REVIEW or DECLINE raised an alert for analysts. */
  alertRaised: 'alert.raised',
  /** The ledger booked a transaction's own legs: approved, a held review posted, a capture, a refund. */
  transactionPosted: 'transaction.posted',
  /** The ledger booked reversal legs for a transaction's booked money (a FRAUD verdict). */
  transactionReversed: 'transaction.reversed',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];
export const webhookEventTypes: readonly WebhookEventType[] = Object.values(WebhookEventType);

/**
 * One delivery's JSON body. `id` is derived from what the event is about (type + transaction or alert id), so a
 * redelivery — after a retry, a restart or a replay — carries the same id: receivers de-duplicate on it.
 */
export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  readonly id: string;
  readonly type: T;
  /** ISO 8601, when the event happened (decidedAt / raisedAt / bookedAt), not when this delivery was attempted. */
  readonly createdAt: string;
  readonly data: WebhookEventData[T];
}

/** `decision.made`: the same decision `POST /v1/decisions` answers with, plus what it was about. */
export type DecisionMadeData = Omit<SyncDecision, 'ledger'> & {
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly channel: Channel;
  readonly amount: MoneyRequest;
};

/** `alert.raised`: an alert as analysts see it on the live console (no card token, last 4 only). */
export interface AlertRaisedData {
  readonly alertId: string;
  readonly transactionId: string;
  readonly decision: Decision;
  readonly score: number;
  readonly reasons: SyncDecision['reasons'];
  readonly channel: Channel;
  readonly amount: MoneyRequest;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  readonly cardLast4: string | null;
  readonly merchantId: string | null;
  readonly country: string | null;
  readonly modelVersion: string;
  /** ISO 8601. */
  readonly raisedAt: string;
}

/** One booked leg: a negative amount debits the account, a positive one credits it. */
export interface LedgerLegData {
  readonly entryId: string;
  readonly accountId: string;
  /** Signed decimal string in the currency's minor-unit exponent, e.g. `"-42.50"`. */
  readonly amount: MoneyRequest;
  readonly entryType: EntryType;
}

/**
 * Why the legs were booked. `approved`: an APPROVE decision; `capture` of an authorisation, `refund` of a payment
 * (both approved); `verdict`: an analyst's (or `chargeback`) verdict — GENUINE posting a held review, FRAUD
 * reversing booked money; `expiry`: a held review nobody resolved, posted by the `post` expiry policy.
 */
export type LedgerCause =
  | { readonly type: 'approved' }
  | { readonly type: 'capture'; readonly authorizationId: string }
  | { readonly type: 'refund'; readonly originalTransactionId: string }
  | { readonly type: 'verdict'; readonly verdict: 'GENUINE' | 'FRAUD'; readonly by: string | null }
  | { readonly type: 'expiry' };

/** What `transaction.posted` and `transaction.reversed` share. Never card data: the ledger holds none. */
interface LedgerEventDataBase {
  readonly transactionId: string;
  readonly kind: TransactionKind;
  readonly payerAccountId: string;
  readonly payeeAccountId: string;
  /** The legs booked, in leg order; per currency they sum to zero. */
  readonly legs: readonly LedgerLegData[];
  /** ISO 8601: when Vigil booked the legs. */
  readonly bookedAt: string;
  /** ISO 8601: the transaction's own time (the legs' value date). */
  readonly valueDate: string;
  readonly cause: LedgerCause;
  /** For a CAPTURE, the authorisation whose hold it settles. */
  readonly capturesTransactionId: string | null;
  /** For a REFUND, the payment it pays back. */
  readonly refundsTransactionId: string | null;
}

/** `transaction.posted`: a transaction's own legs booked (once per transaction). */
export type TransactionPostedData = LedgerEventDataBase;

/** `transaction.reversed`: the reversal legs of a transaction's booked money (once per transaction). */
export interface TransactionReversedData extends LedgerEventDataBase {
  /** The entries reversed, in the order of the legs reversing them. */
  readonly reversedEntryIds: readonly string[];
}

export interface WebhookEventData {
  readonly 'decision.made': DecisionMadeData;
  readonly 'alert.raised': AlertRaisedData;
  readonly 'transaction.posted': TransactionPostedData;
  readonly 'transaction.reversed': TransactionReversedData;
}

/**
 * The signature header, in Stripe's scheme so integrators can reuse what they know (and Stripe's own verifier):
 * `Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. The key is the endpoint's
 * secret string exactly as shown at creation (`whsec_…`, prefix included). A receiver recomputes the HMAC over the
 * raw bytes it received, compares in constant time and refuses a `t` older than its tolerance (e.g. 5 minutes).
 */
export const WebhookHeaders = {
  signature: 'Vigil-Signature',
  eventId: 'Vigil-Event-Id',
  eventType: 'Vigil-Event-Type',
  /** 1 for the first attempt of an event; a replay counts again from 1. */
  attempt: 'Vigil-Delivery-Attempt',
} as const;

/** The body of `POST /v1/webhooks`. */
export interface WebhookEndpointRequest {
  /** https URL (http only for targets on VIGIL_WEBHOOK_ALLOWED_TARGETS); no user info, no fragment. */
  readonly url: string;
  /** At least one of {@link webhookEventTypes}. */
  readonly events: readonly WebhookEventType[];
  /** Free text for operators, at most 200 characters. */
  readonly description?: string;
}

export type WebhookEndpointStatus = 'enabled' | 'disabled';

/** An endpoint as `GET /v1/webhooks` lists it; the secret is never shown again after creation. */
export interface WebhookEndpointView {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly description: string | null;
  readonly status: WebhookEndpointStatus;
  /** Why it is disabled: the receiver answered 410 Gone, or too many deliveries failed in a row. */
  readonly disabledReason: 'gone' | 'failing' | null;
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

/** The 201 of `POST /v1/webhooks`: the only time the signing secret is shown. */
export interface WebhookEndpointCreated extends WebhookEndpointView {
  readonly secret: string;
}

/** What one delivery attempt came to. */
export type DeliveryOutcome =
  /** The receiver answered 2xx. */
  | 'delivered'
  /** Any other answer, a timeout or a connection error; retried with backoff. */
  | 'failed'
  /** The receiver answered 410 Gone: the endpoint was disabled. */
  | 'gone'
  /** Retried for the whole retry period without success; not retried again (replay can re-send it). */
  | 'expired';

/** One attempt as `GET /v1/webhooks/{id}/deliveries` lists it, newest first. */
export interface WebhookDeliveryView {
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly attempt: number;
  readonly outcome: DeliveryOutcome;
  /** The receiver's HTTP status, when it answered. */
  readonly status: number | null;
  /** What went wrong, for failed attempts (timeout, refused, blocked target, status text). */
  readonly error: string | null;
  readonly attemptedAt: string;
  readonly durationMs: number;
  /** True for deliveries started by `POST /v1/webhooks/{id}/replay`. */
  readonly replay: boolean;
}

/** The body of `POST /v1/webhooks/{id}/replay`: re-send this endpoint's events created in [from, to]. */
export interface WebhookReplayRequest {
  /** ISO 8601, inclusive. */
  readonly from: string;
  /** ISO 8601, inclusive. */
  readonly to: string;
}

/** The 202 of a replay: how many events were queued for re-delivery. */
export interface WebhookReplayAccepted {
  readonly endpointId: string;
  readonly events: number;
}
