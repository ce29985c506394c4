import express, { type RequestHandler, type Router } from 'express';
import { Role, type ApiKeyAuthenticator } from '../../platform/auth.js';
import { ErrorCategory, ValidationError, VigilError } from '../../platform/errors.js';
import { principalOf, problemDetailsMiddleware, requireRole, route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { Clock } from '../../platform/clock.js';
import type { DecisionPending, IngestBatchResponse, IngestResult } from '../../schemas/api.js';
import type { DecisionWaiter } from '../app/decision-waiter.js';
import { DECISION_DEADLINE_BOUNDS } from '../config.js';
import { type Ingestor, TransactionIdConflictError } from '../app/ingestor.js';
import type { IngestMetrics } from '../app/metrics.js';
import { parseBatchBody, parseJsonBody } from './body.js';
import type { ChannelIntake } from '../app/channel-intake.js';
import { Iso20022Reader } from '../domain/channels/iso20022/messages.js';
import { parseColumnMapping } from '../domain/channels/csv/csv.js';
import { NachaReader } from '../domain/channels/nacha/nacha.js';
import type { ContentHasher } from '../ports.js';
import { csvRead, mountChannelRoute, readerRead } from './channels.js';
import { mountAdyenRoute, mountStripeRoute } from './gateways.js';
import type { AdyenWebhookConfig, StripeWebhookConfig } from '../config.js';

export interface IngestRouterOptions {
  readonly ingestor: Ingestor;
  readonly authenticator: ApiKeyAuthenticator;
  readonly logger: Logger;
  readonly metrics: IngestMetrics;
  readonly maxBodyBytes: number;
  readonly maxBatchBodyBytes: number;
  readonly maxBatchItems: number;
  readonly decisions: DecisionWaiter;
  /** Default wait of `POST /v1/decisions`, ms; a request may set its own with `Vigil-Decision-Deadline-Ms`. */
  readonly decisionDeadlineMs: number;
  readonly clock: Clock;
  /** The channel-file routes' intake, the parsers' hasher, their size limit and where files are spooled. */
  readonly channels: {
    readonly intake: ChannelIntake;
    readonly hasher: ContentHasher;
    readonly maxFileBytes: number;
    readonly spoolDir: string;
  };
  /** Stripe's webhook secret and tolerance; absent, `POST /v1/channels/stripe` answers 503. */
  readonly stripeWebhooks?: StripeWebhookConfig;
  /** Adyen's HMAC key and basic-auth credentials; absent, `POST /v1/channels/adyen` answers 503. */
  readonly adyenWebhooks?: AdyenWebhookConfig;
}

const countRequests =
  (
    metrics: IngestMetrics,
    routeName: 'single' | 'batch' | 'decision' | 'iso20022' | 'csv' | 'nacha' | 'stripe' | 'adyen',
  ): RequestHandler =>
  (_req, res, next) => {
    res.on('finish', () => metrics.requests.inc({ route: routeName, status: String(res.statusCode) }));
    next();
  };

/**
 * The ingest HTTP routes, with their own problem-details error handler so the router works standalone:
 *  - `POST /v1/transactions` (role ingest): one TransactionRequest. 202 + IngestResult once the record is durable
 *    on tx.raw; 200 + the original result for a retry (status duplicate); 409 TRANSACTION_ID_CONFLICT for the same
 *    id with other content; 400 VALIDATION_FAILED with every problem; 400 MALFORMED_JSON; 413 BODY_TOO_LARGE.
 *  - `POST /v1/transactions/batch` (role ingest): a JSON array, or NDJSON (`Content-Type: application/x-ndjson`).
 *    Always 200 when the batch itself was readable, with an IngestBatchResponse: each item is accepted, duplicate,
 *    rejected or conflict on its own (a 207 Multi-Status would add nothing a client can act on that the
 *    per-item status does not already say). 400 for an unreadable or empty batch, 413 above the item or byte limit.
 *  - `POST /v1/channels/iso20022` (role ingest): an ISO 20022 file (pain.001.001.09, pacs.008.001.08,
 *    camt.054.001.08, pacs.004.001.09); 200 + ChannelFileResponse, per item as in the batch (see http/channels.ts).
 *  - `POST /v1/channels/csv` (role ingest): a CSV upload (domain/channels/csv), `Vigil-File-Id` naming the file and
 *    `?columns=amount=Betrag,…` mapping another layout; answered like the ISO 20022 route.
 *  - `POST /v1/channels/nacha` (role ingest): a NACHA ACH file (domain/channels/nacha), each entry located by its
 *    record number; answered like the ISO 20022 route.
 *  - `POST /v1/channels/stripe` (no API key: Stripe's signature authenticates it): a Stripe webhook event
 *    (domain/channels/gateways/stripe.ts, http/gateways.ts); answered like the channel routes, 400 for a bad signature.
 *  - `POST /v1/channels/adyen` (no API key: basic auth and Adyen's per-item HMAC authenticate it): an Adyen
 *    notification (domain/channels/gateways/adyen.ts, http/gateways.ts); `[accepted]` once durable, 401 for bad
 *    credentials, 400 for a bad signature.
 * Authentication runs before the body is read, so unauthenticated callers cannot make us buffer large bodies.
 */
const DEADLINE_HEADER = 'vigil-decision-deadline-ms';

/** The per-request deadline header, or the default; a bad value is refused with its location. */
function readDeadlineHeader(raw: string | string[] | undefined, defaultMs: number): number {
  if (raw === undefined) return defaultMs;
  const text = Array.isArray(raw) ? raw[0] : raw;
  const ms = /^[0-9]{1,9}$/.test(text ?? '') ? Number(text) : NaN;
  if (!(ms >= DECISION_DEADLINE_BOUNDS.min && ms <= DECISION_DEADLINE_BOUNDS.max))
    throw new ValidationError('invalid decision deadline', [
      {
        path: `/headers/${DEADLINE_HEADER}`,
        message: `must be an integer number of milliseconds in [${DECISION_DEADLINE_BOUNDS.min}, ${DECISION_DEADLINE_BOUNDS.max}]`,
      },
    ]);
  return ms;
}

/**
 * The result of a transaction that is on the log (accepted now, or a duplicate of one accepted before); every
 * other outcome becomes the error the single-transaction routes answer with (409, 400, 500).
 */
function writtenOrThrow(result: IngestResult | undefined): IngestResult {
  switch (result?.status) {
    case 'accepted':
    case 'duplicate':
      return result;
    case 'conflict':
      throw new TransactionIdConflictError(result.transactionId ?? '');
    case 'rejected':
      throw new ValidationError('the transaction failed validation', result.problems ?? []);
    default:
      throw new VigilError('INGEST_NO_RESULT', 'ingest returned no result');
  }
}

export function createIngestRouter(options: IngestRouterOptions): Router {
  const { ingestor, authenticator, metrics, maxBatchItems } = options;
  const router = express.Router();
  const asIngestFeed = requireRole(authenticator, Role.ingest);
  const anyType = (): boolean => true;

  router.post(
    '/v1/transactions',
    countRequests(metrics, 'single'),
    asIngestFeed,
    express.raw({ type: anyType, limit: options.maxBodyBytes }),
    route(async (req, res) => {
      const body = parseJsonBody(req.body);
      const [result] = await ingestor.accept([{ kind: 'parsed', body }], 'API', principalOf(res).id);
      const written = writtenOrThrow(result);
      res.status(written.status === 'accepted' ? 202 : 200).json(written);
    }),
  );

  router.post(
    '/v1/decisions',
    countRequests(metrics, 'decision'),
    asIngestFeed,
    express.raw({ type: anyType, limit: options.maxBodyBytes }),
    route(async (req, res) => {
      const deadlineMs =
        options.clock.nowMs() + readDeadlineHeader(req.headers[DEADLINE_HEADER], options.decisionDeadlineMs);
      const body = parseJsonBody(req.body);
      const id = (body as { transactionId?: unknown } | null)?.transactionId;
      // Wait before writing: the decision may come back before the write is acknowledged.
      const ticket = typeof id === 'string' ? options.decisions.expect(id) : undefined;
      let written: IngestResult;
      try {
        written = writtenOrThrow((await ingestor.accept([{ kind: 'parsed', body }], 'API', principalOf(res).id))[0]);
      } catch (error) {
        ticket?.cancel();
        throw error;
      }
      const transactionId = written.transactionId!;
      const decision = await ticket!.until(deadlineMs);
      if (decision !== undefined) {
        res.status(200).json(decision);
        return;
      }
      const pending: DecisionPending = {
        transactionId,
        status: 'pending',
        decisionUrl: `/v1/decisions/${encodeURIComponent(transactionId)}`,
      };
      res.status(202).location(pending.decisionUrl).json(pending);
    }),
  );

  router.post(
    '/v1/transactions/batch',
    countRequests(metrics, 'batch'),
    asIngestFeed,
    express.raw({ type: anyType, limit: options.maxBatchBodyBytes }),
    route(async (req, res) => {
      const items = parseBatchBody(req.body, req.headers['content-type']);
      if (items.length === 0)
        throw new ValidationError(
          'a batch needs at least one item',
          [{ path: '', message: 'must contain at least one transaction' }],
          'EMPTY_BATCH',
        );
      if (items.length > maxBatchItems) {
        throw new VigilError(
          'BATCH_TOO_LARGE',
          `a batch may hold at most ${maxBatchItems} items; this one has ${items.length}`,
          { category: ErrorCategory.tooLarge },
        );
      }
      const results = await ingestor.accept(items, 'BATCH', principalOf(res).id);
      const summary = { accepted: 0, duplicate: 0, rejected: 0, conflict: 0 };
      for (const result of results) summary[result.status]++;
      const response: IngestBatchResponse = { results, summary };
      res.status(200).json(response);
    }),
  );

  const { channels } = options;
  const fileRoute = (name: 'iso20022' | 'csv' | 'nacha') => ({
    intake: channels.intake,
    guard: asIngestFeed,
    countRequests: countRequests(metrics, name),
    maxFileBytes: channels.maxFileBytes,
    spoolDir: channels.spoolDir,
    logger: options.logger,
  });
  mountChannelRoute(
    router,
    '/v1/channels/iso20022',
    () => readerRead((verdictOnly) => new Iso20022Reader({ hasher: channels.hasher, verdictOnly })),
    fileRoute('iso20022'),
  );
  mountChannelRoute(
    router,
    '/v1/channels/csv',
    (req) => {
      const mapping = parseColumnMapping(typeof req.query['columns'] === 'string' ? req.query['columns'] : undefined);
      if (!mapping.ok)
        throw new ValidationError('the file could not be read', mapping.problems, 'CHANNEL_FILE_REFUSED');
      const fileId = req.headers['vigil-file-id'];
      return csvRead({
        hasher: channels.hasher,
        columns: mapping.columns,
        ...(typeof fileId === 'string' ? { fileId } : {}),
      });
    },
    fileRoute('csv'),
  );
  mountChannelRoute(
    router,
    '/v1/channels/nacha',
    () => readerRead((verdictOnly) => new NachaReader({ hasher: channels.hasher, verdictOnly })),
    fileRoute('nacha'),
  );

  mountStripeRoute(router, {
    intake: channels.intake,
    hasher: channels.hasher,
    config: options.stripeWebhooks,
    countRequests: countRequests(metrics, 'stripe'),
    metrics,
    logger: options.logger,
    clock: options.clock,
    maxBodyBytes: options.maxBodyBytes,
  });

  mountAdyenRoute(router, {
    intake: channels.intake,
    hasher: channels.hasher,
    config: options.adyenWebhooks,
    countRequests: countRequests(metrics, 'adyen'),
    metrics,
    logger: options.logger,
    clock: options.clock,
    maxBodyBytes: options.maxBodyBytes,
  });

  router.use(problemDetailsMiddleware(options.logger));
  return router;
}
