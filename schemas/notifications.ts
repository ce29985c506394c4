/**
 * The e-mail notification contract: what an admin registers through `POST /v1/notifications/email` and how a
 * subscription is shown (README "Webhooks" → "E-mail"). The notifier stage produces exactly these shapes.
 */
import type { MoneyRequest } from './api.js';

/** The body of `POST /v1/notifications/email`. */
export interface EmailSubscriptionRequest {
  /** The analyst's address (`local@domain`, at most 254 characters; its domain on VIGIL_SMTP_ALLOWED_DOMAINS if set). */
  readonly email: string;
  /**
   * A DECLINE in this currency above this amount is mailed at once; every other alert goes into the digest.
   * Omitted or null: every alert goes into the digest.
   */
  readonly immediateDeclineAbove?: MoneyRequest | null;
  /** How often the digest of the other alerts is sent, ms (within the configured bounds; default 1 h). */
  readonly digestEveryMs?: number;
}

export type EmailSubscriptionStatus =
  /** Alerts are mailed. */
  | 'active'
  /** The recipient followed the unsubscribe link: nothing more is sent. */
  | 'unsubscribed'
  /** The mail server refused mails to this address too often in a row: nothing more is sent. */
  | 'suspended';

/** A subscription as `GET /v1/notifications/email` lists it. */
export interface EmailSubscriptionView {
  readonly id: string;
  readonly email: string;
  readonly immediateDeclineAbove: MoneyRequest | null;
  readonly digestEveryMs: number;
  readonly status: EmailSubscriptionStatus;
  readonly createdAt: string;
  /** When it stopped being active (unsubscribed or suspended). */
  readonly endedAt: string | null;
}

/** Headers of every mail, besides RFC 8058's `List-Unsubscribe` and `List-Unsubscribe-Post`. */
export const EmailHeaders = {
  /** `immediate` or `digest`. */
  kind: 'X-Vigil-Notification',
  /** The subscription the mail was sent for. */
  subscriptionId: 'X-Vigil-Subscription-Id',
} as const;
