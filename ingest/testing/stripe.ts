import Stripe from 'stripe';

/**
 * Stripe webhook events for tests, shaped as Stripe's API reference describes Event, Charge and Dispute objects
 * (only the fields the channel reads, plus a few it must ignore), signed with Stripe's own test signer
 * (`webhooks.generateTestHeaderString`), so the route verifies exactly what Stripe would send.
 */

export const STRIPE_TEST_SECRET = 'whsec_test_0123456789abcdefghijklmnopqrstuv';

export interface ChargeSpec {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
  readonly captured: boolean;
  readonly amountCaptured?: number;
  readonly amountRefunded?: number;
  readonly customer?: string;
  /** Epoch seconds the charge was made. */
  readonly createdS: number;
}

/** A Charge object: a card with Stripe's fingerprint, IIN and last four digits. */
export function charge(spec: ChargeSpec): Record<string, unknown> {
  return {
    id: spec.id,
    object: 'charge',
    amount: spec.amount,
    amount_captured: spec.amountCaptured ?? (spec.captured ? spec.amount : 0),
    amount_refunded: spec.amountRefunded ?? 0,
    captured: spec.captured,
    currency: spec.currency,
    customer: spec.customer ?? null,
    created: spec.createdS,
    payment_intent: `pi_${spec.id.slice(3)}`,
    payment_method: `pm_${spec.id.slice(3)}`,
    payment_method_details: {
      type: 'card',
      card: { brand: 'visa', country: 'US', fingerprint: 'Xt5EWLLDS7FJjR1c', iin: '424242', last4: '4242' },
    },
    status: 'succeeded',
  };
}

/** An Event wrapping `object`; `pendingWebhooks` changes between Stripe's deliveries of one event. */
export function stripeEvent(
  id: string,
  type: string,
  object: Record<string, unknown>,
  createdS: number,
  extra: { previous?: Record<string, unknown>; pendingWebhooks?: number } = {},
): string {
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2025-10-29.clover',
    created: createdS,
    data: { object, ...(extra.previous === undefined ? {} : { previous_attributes: extra.previous }) },
    livemode: false,
    pending_webhooks: extra.pendingWebhooks ?? 1,
    request: { id: null, idempotency_key: null },
    type,
  });
}

/** A Dispute object on `chargeId`. */
export function dispute(id: string, chargeId: string, amount: number, reason: string, createdS: number) {
  return {
    id,
    object: 'dispute',
    amount,
    charge: chargeId,
    currency: 'usd',
    created: createdS,
    payment_intent: `pi_${chargeId.slice(3)}`,
    reason,
    status: 'needs_response',
  };
}

/** The `Stripe-Signature` header Stripe would send for `payload`, signed at `timestampS`. */
export function stripeSignature(payload: string, timestampS: number, secret = STRIPE_TEST_SECRET): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: timestampS });
}
