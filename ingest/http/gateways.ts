import express, { type RequestHandler, type Router } from 'express';
import Stripe from 'stripe';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, ValidationError, VigilError } from '../../platform/errors.js';
import { route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { ChannelIntake } from '../app/channel-intake.js';
import type { IngestMetrics } from '../app/metrics.js';
import type { StripeWebhookConfig } from '../config.js';
import { parseStripeEvent } from '../domain/channels/gateways/stripe.js';
import type { ContentHasher } from '../ports.js';

/** Who gateway events are submitted by on the transaction (`submittedBy`); the gateway, not an API key. */
export const STRIPE_SUBMITTER = 'gateway:stripe';

export interface StripeRouteOptions {
  readonly intake: ChannelIntake;
  readonly hasher: ContentHasher;
  /** Undefined: no secret configured; every event is answered 503 so Stripe keeps it until one is. */
  readonly config: StripeWebhookConfig | undefined;
  readonly countRequests: RequestHandler;
  readonly metrics: IngestMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly maxBodyBytes: number;
}

// Only the static webhooks object is used; it needs no API key and makes no network call.
const stripeWebhooks = Stripe.webhooks;

/**
 * `POST /v1/channels/stripe`: a Stripe webhook event. A gateway cannot send our bearer key, so the route is
 * authenticated by the event's signature instead: `Stripe-Signature` verified on the raw bytes with Stripe's own
 * `webhooks.constructEvent`, the endpoint secret and its timestamp tolerance (a replay of an old event is refused).
 * A missing or bad signature is 400 WEBHOOK_SIGNATURE_INVALID, logged and counted
 * (`vigil_ingest_webhook_signature_failures_total{gateway="stripe"}`). A verified event goes through the channel
 * intake as one message known by its event id, so a redelivery is a duplicate; 200 only once its transaction (or
 * chargeback label) is durable on the log — any failure before that is a 5xx, which Stripe retries.
 */
export function mountStripeRoute(router: Router, options: StripeRouteOptions): void {
  router.post(
    '/v1/channels/stripe',
    options.countRequests,
    express.raw({ type: () => true, limit: options.maxBodyBytes }),
    route(async (req, res) => {
      const config = options.config;
      if (config === undefined)
        throw new VigilError('WEBHOOK_NOT_CONFIGURED', 'Stripe webhooks are not configured here', {
          category: ErrorCategory.unavailable,
          retriable: true,
        });
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const header = req.headers['stripe-signature'];
      let event: unknown;
      try {
        if (typeof header !== 'string') throw new Error('no Stripe-Signature header');
        event = stripeWebhooks.constructEvent(
          bytes,
          header,
          config.secret.reveal(),
          config.toleranceSeconds,
          undefined,
          options.clock.nowMs(),
        );
      } catch (error) {
        options.metrics.webhookSignatureFailures.inc({ gateway: 'stripe' });
        // Stripe's message says which check failed (no signature, mismatch, timestamp); it never holds the secret.
        options.logger.warn('stripe webhook refused: signature', {
          reason: error instanceof Error ? error.message.split('\n')[0] : String(error),
          bytes: bytes.length,
        });
        throw new ValidationError(
          'the webhook signature could not be verified',
          [
            {
              path: '/headers/stripe-signature',
              message: 'must be a valid Stripe signature of this body, recent enough',
            },
          ],
          'WEBHOOK_SIGNATURE_INVALID',
        );
      }
      const parsed = parseStripeEvent(event, { hasher: options.hasher });
      if (!parsed.ok) throw new ValidationError('the event could not be read', parsed.problems, 'CHANNEL_FILE_REFUSED');
      // Known by its event id alone: a redelivery carries the same id but not the same bytes (its
      // pending_webhooks count changes), so the bytes' hash would make it a conflict.
      const identity = options.hasher.sha256Hex(`stripe\n${parsed.document.messageId}`);
      res.status(200).json(await options.intake.receive(parsed.document, identity, STRIPE_SUBMITTER, 'WEBHOOK'));
    }),
  );
}
