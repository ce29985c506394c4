import { hmacValidator } from '@adyen/api-library';
import type { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models.js';
import express, { type RequestHandler, type Router } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import Stripe from 'stripe';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, type FieldProblem, ValidationError, VigilError } from '../../platform/errors.js';
import { route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { ChannelIntake } from '../app/channel-intake.js';
import type { IngestMetrics } from '../app/metrics.js';
import type { ChannelFileResponse } from '../../schemas/api.js';
import type { AdyenWebhookConfig, StripeWebhookConfig } from '../config.js';
import type { ChannelDocument } from '../domain/channels/channel.js';
import { adyenNotificationItems, parseAdyenItem } from '../domain/channels/gateways/adyen.js';
import { parseStripeEvent } from '../domain/channels/gateways/stripe.js';
import type { ContentHasher } from '../ports.js';

/** Who gateway events are submitted by on the transaction (`submittedBy`); the gateway, not an API key. */
export const STRIPE_SUBMITTER = 'gateway:stripe';
export const ADYEN_SUBMITTER = 'gateway:adyen';

/** The gateways with a webhook route: the `gateway` label of the signature-failure metric. */
export type Gateway = 'stripe' | 'adyen';

/** What a gateway's webhook route is built from; `Config` is how its events are verified. */
export interface GatewayRouteOptions<Config> {
  readonly intake: ChannelIntake;
  readonly hasher: ContentHasher;
  /** Undefined: no secret configured; every event is answered 503 so the gateway keeps it until one is. */
  readonly config: Config | undefined;
  readonly countRequests: RequestHandler;
  readonly metrics: IngestMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly maxBodyBytes: number;
}

export type StripeRouteOptions = GatewayRouteOptions<StripeWebhookConfig>;
export type AdyenRouteOptions = GatewayRouteOptions<AdyenWebhookConfig>;

/** The 503 of a gateway route whose secret is not configured: the gateway retries until it is. */
function notConfigured(gateway: string): VigilError {
  return new VigilError('WEBHOOK_NOT_CONFIGURED', `${gateway} webhooks are not configured here`, {
    category: ErrorCategory.unavailable,
    retriable: true,
  });
}

/** Counts and logs a webhook refused for how it was signed or authenticated; the reason never holds a secret. */
function recordRefusal(
  options: GatewayRouteOptions<unknown>,
  gateway: Gateway,
  check: string,
  details: Record<string, unknown>,
): void {
  options.metrics.webhookSignatureFailures.inc({ gateway });
  options.logger.warn(`${gateway} webhook refused: ${check}`, details);
}

/**
 * Takes a gateway's verified, parsed messages through the channel intake in order, each known by its gateway's
 * identity alone (`gateway`, newline, message id): a redelivery carries the same identity but not always the same
 * bytes, so the bytes' hash would make it a conflict. Resolves once every message is durable.
 */
async function receiveAll(
  options: GatewayRouteOptions<unknown>,
  gateway: Gateway,
  documents: readonly ChannelDocument[],
  submitter: string,
): Promise<ChannelFileResponse[]> {
  const answers: ChannelFileResponse[] = [];
  for (const document of documents) {
    const identity = options.hasher.sha256Hex(`${gateway}\n${document.messageId}`);
    answers.push(await options.intake.receive(document, identity, submitter, 'WEBHOOK'));
  }
  return answers;
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
      if (config === undefined) throw notConfigured('Stripe');
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
        // Stripe's message says which check failed (no signature, mismatch, timestamp); it never holds the secret.
        recordRefusal(options, 'stripe', 'signature', {
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
      // Known by its event id: Stripe's redelivery changes its pending_webhooks count, so not its bytes.
      const [answer] = await receiveAll(options, 'stripe', [parsed.document], STRIPE_SUBMITTER);
      res.status(200).json(answer);
    }),
  );
}

// One validator: it holds no key or state, only Adyen's signing rules.
const adyenHmac = new hmacValidator();

/** True when `presented` equals `expected`, in time independent of where they differ (both hashed to one length). */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The user and password of an `Authorization: Basic` header (RFC 7617), else undefined. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * `POST /v1/channels/adyen`: an Adyen standard notification (`notificationItems[].NotificationRequestItem`). A
 * gateway cannot send our bearer key, so the route is authenticated twice over, as Adyen recommends: basic auth
 * with the credentials set on the webhook (checked before the body is read; bad or missing → 401
 * UNAUTHENTICATED), then every item's `additionalData.hmacSignature` verified with `@adyen/api-library`'s
 * `hmacValidator` and the webhook's HMAC key (one bad or missing signature → 400 WEBHOOK_SIGNATURE_INVALID, the
 * notification not read). Both refusals are logged and counted
 * (`vigil_ingest_webhook_signature_failures_total{gateway="adyen"}`). Each verified item goes through the channel
 * intake as its own message known by pspReference, eventCode and success (domain/channels/gateways/adyen.ts), so a
 * redelivered item is a duplicate in whatever batch it comes; `[accepted]`, the body Adyen expects, with 200 only
 * once every item's transaction (or chargeback label) is durable — any failure before that is a 5xx, which Adyen
 * retries.
 */
export function mountAdyenRoute(router: Router, options: AdyenRouteOptions): void {
  const authenticate: RequestHandler = (req, res, next) => {
    const config = options.config;
    if (config === undefined) return next(notConfigured('Adyen'));
    const presented = basicCredentials(req.headers.authorization);
    // Both compared, whatever the first says, so the time taken does not tell a right user name from a wrong one.
    const userMatches = sameSecret(presented?.user ?? '', config.username);
    const passwordMatches = sameSecret(presented?.password ?? '', config.password.reveal());
    if (presented !== undefined && userMatches && passwordMatches) return next();
    recordRefusal(options, 'adyen', 'basic auth', {
      reason: presented === undefined ? 'no basic credentials' : 'wrong user name or password',
    });
    res.setHeader('WWW-Authenticate', 'Basic realm="adyen webhook", charset="UTF-8"');
    next(
      new VigilError('UNAUTHENTICATED', 'the webhook basic-auth credentials are missing or wrong', {
        category: ErrorCategory.unauthenticated,
      }),
    );
  };
  router.post(
    '/v1/channels/adyen',
    options.countRequests,
    authenticate,
    express.raw({ type: () => true, limit: options.maxBodyBytes }),
    route(async (req, res) => {
      const hmacKey = options.config!.hmacKey.reveal();
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let body: unknown;
      try {
        body = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new ValidationError(
          'the notification could not be read',
          [{ path: '', message: 'must be a JSON Adyen notification' }],
          'CHANNEL_FILE_REFUSED',
        );
      }
      const notification = adyenNotificationItems(body);
      if (!notification.ok)
        throw new ValidationError('the notification could not be read', notification.problems, 'CHANNEL_FILE_REFUSED');
      const unsigned = notification.items.filter(({ item }) => {
        try {
          return !adyenHmac.validateHMAC(item as unknown as NotificationRequestItem, hmacKey);
        } catch {
          // The validator throws for an item without a signature, or without the amount it signs.
          return true;
        }
      });
      if (unsigned.length > 0) {
        recordRefusal(options, 'adyen', 'signature', {
          items: unsigned.map((u) => u.location),
          bytes: bytes.length,
        });
        throw new ValidationError(
          'the webhook signature could not be verified',
          unsigned.map((u) => ({
            path: `${u.location}/additionalData/hmacSignature`,
            message: "must be the item's HMAC under the webhook's HMAC key",
          })),
          'WEBHOOK_SIGNATURE_INVALID',
        );
      }
      const documents: ChannelDocument[] = [];
      const problems: FieldProblem[] = [];
      notification.items.forEach(({ item }, i) => {
        const parsed = parseAdyenItem(item, { hasher: options.hasher });
        if (parsed.ok) documents.push(parsed.document);
        // The item's own pointers, placed in this notification for the sender.
        else problems.push(...parsed.problems.map((p) => ({ ...p, path: `/notificationItems/${i}${p.path}` })));
      });
      if (problems.length > 0)
        throw new ValidationError('the notification could not be read', problems, 'CHANNEL_FILE_REFUSED');
      const answers = await receiveAll(options, 'adyen', documents, ADYEN_SUBMITTER);
      options.logger.info('adyen notification taken', {
        items: answers.map((a) => [a.file.messageId, a.file.status, a.summary]),
      });
      res.status(200).type('text/plain').send('[accepted]');
    }),
  );
}
