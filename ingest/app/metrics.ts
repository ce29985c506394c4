import type { MetricsRegistry } from '../../platform/metrics.js';

/** The ingest stage's Prometheus metrics (prefix `vigil_ingest_`). Labels: `route` (single|batch|decision|iso20022|csv|nacha|stripe), `source`. */
export function createIngestMetrics(registry: MetricsRegistry) {
  return {
    requests: registry.counter(
      'vigil_ingest_requests_total',
      'HTTP requests to the ingest routes, by route and status code',
    ),
    accepted: registry.counter('vigil_ingest_accepted_total', 'Transactions appended to tx.raw, by source'),
    duplicates: registry.counter(
      'vigil_ingest_duplicates_total',
      'Retries of an accepted transaction (same id, same content), answered without writing',
    ),
    rejected: registry.counter('vigil_ingest_rejected_total', 'Items refused by validation or unparseable, by source'),
    conflicts: registry.counter(
      'vigil_ingest_conflicts_total',
      'Attempts reusing an accepted transaction id with other content, by source',
    ),
    webhookSignatureFailures: registry.counter(
      'vigil_ingest_webhook_signature_failures_total',
      'Gateway webhooks refused for a missing, bad or expired signature (Adyen: or bad basic-auth credentials), by gateway',
    ),
    deadLetters: registry.counter('vigil_ingest_dead_letters_total', 'Refused items and conflicts written to tx.dlq'),
    journalFailures: registry.counter(
      'vigil_ingest_idempotency_journal_failures_total',
      'Failed appends to the idempotency journal',
    ),
    logAppendSeconds: registry.histogram(
      'vigil_ingest_log_append_seconds',
      'Time for one producer.send of accepted transactions to become durable',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
  };
}
export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
