import type { Client } from '@elastic/elasticsearch';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import { auditIndexName } from '../../schemas/elasticsearch/audit.js';
import {
  connectTestElasticsearch,
  countAuditDocuments,
  deleteAuditIndices,
  uniqueAuditPrefix,
} from '../../schemas/elasticsearch/test-helpers.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { LedgerBatchHandler } from '../app/ledger-writer.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { ElasticsearchAuditIndex } from './elasticsearch-audit-index.js';

/**
 * The audit index writer against a real Elasticsearch (http://127.0.0.1:9200, `npm run services:up`); fails,
 * never skips, when it is not reachable. Each test writes under its own prefix and deletes it afterwards.
 */
let client: Client;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  client = await connectTestElasticsearch();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await client?.close();
});

/** An index writer under a fresh prefix (template installed, cleanup registered), refreshing on every bulk. */
async function freshIndex(
  metrics = new MetricsRegistry(),
): Promise<{ index: ElasticsearchAuditIndex; prefix: string }> {
  const prefix = uniqueAuditPrefix('ledger');
  cleanups.push(() => deleteAuditIndices(client, prefix));
  const index = new ElasticsearchAuditIndex(
    client,
    {
      indexPrefix: prefix,
      maxAttempts: 3,
      backoffMs: 10,
      maxBackoffMs: 50,
      bulkDocuments: 500,
      refresh: 'wait_for',
      nowMs: () => Date.now(),
    },
    silentLogger,
    metrics,
  );
  await index.ensureTemplate();
  return { index, prefix };
}

/** A keyword term longer than Lucene's 32766-byte limit: a document the mapping cannot hold. */
const immenseMerchant = (i: number): ScoredTransaction => scoredTransaction(i, { merchantId: 'm'.repeat(40_000) });

describe('ElasticsearchAuditIndex (real Elasticsearch)', () => {
  it('is idempotent: indexing the same decisions twice leaves one document each and counts no failure', async () => {
    const metrics = new MetricsRegistry();
    const { index, prefix } = await freshIndex(metrics);
    const december = scoredTransaction(99, { eventTimeMs: Date.UTC(2025, 11, 1) });
    const decisions = [...Array.from({ length: 12 }, (_, i) => scoredTransaction(i)), december];

    expect(await index.index(decisions)).toEqual({ indexed: 13, alreadyIndexed: 0, rejected: [] });
    expect(await index.index(decisions)).toEqual({ indexed: 0, alreadyIndexed: 13, rejected: [] });
    expect(await countAuditDocuments(client, prefix)).toBe(13);
    expect(metrics.counter('vigil_ledger_audit_index_retries_total', '').get()).toBe(0);

    const stored = await client.get<{ amount_minor: string; decision: string }>({
      index: auditIndexName(prefix, december.transaction.eventTimeMs),
      id: december.transaction.transactionId,
    });
    expect(stored._index).toBe(`${prefix}-2025.12`);
    expect(stored._source).toMatchObject({
      amount_minor: december.transaction.amountMinor.toString(),
      decision: december.decision,
    });
  });

  it('reports a document that violates the mapping as rejected, with the reason, and indexes the others', async () => {
    const { index, prefix } = await freshIndex();
    const outcome = await index.index([scoredTransaction(1), immenseMerchant(2), scoredTransaction(3)]);
    expect(outcome).toMatchObject({ indexed: 2, alreadyIndexed: 0 });
    expect(outcome.rejected.map((r) => [r.transactionId, r.status, r.type])).toEqual([
      ['tx-000002', 400, 'document_parsing_exception'],
    ]);
    expect(outcome.rejected[0]?.reason).toContain('merchant_id');
    expect(await countAuditDocuments(client, prefix)).toBe(2);
  });

  it('in the batch handler: a refused document is counted and dead-lettered, a redelivery adds nothing', async () => {
    const { index, prefix } = await freshIndex();
    const registry = new EmbeddedSchemaRegistry();
    const bus = capturingBus();
    const clock = new ManualClock(1_764_000_100_000);
    const metrics = new MetricsRegistry();
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const handler = new LedgerBatchHandler({
      store: new MemoryStore(),
      scoredCodec,
      labelCodec: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
      deadLetters: await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock),
      logger: silentLogger,
      metrics,
      clock,
      auditIndex: index,
    });
    const batch = batchOf(
      Topics.transactionsScored,
      [scoredTransaction(1), immenseMerchant(2), scoredTransaction(3)].map((s) => scoredCodec.encode(s)),
      { firstOffset: 40 },
    );

    const first = await handler.handle(batch);
    expect(first).toMatchObject({ decisionsWritten: 3, auditIndexed: 2, auditRejected: 1, deadLettered: 1 });
    const [letter] = bus.sent.get(Topics.deadLetters) ?? [];
    expect(letter?.headers).toMatchObject({
      [HeaderNames.dlqErrorCode]: 'AUDIT_NOT_INDEXED',
      [HeaderNames.dlqSourceOffset]: '41',
    });
    expect(letter?.headers?.[HeaderNames.dlqReason]).toContain('tx-000002');
    expect(
      metrics.counter('vigil_ledger_audit_index_rejected_total', '').get({ type: 'document_parsing_exception' }),
    ).toBe(1);

    const redelivered = await handler.handle(batch);
    expect(redelivered).toMatchObject({ decisionsWritten: 0, duplicates: 3, auditIndexed: 0 });
    expect(metrics.counter('vigil_ledger_audit_already_indexed_total', '').get()).toBe(2);
    expect(await countAuditDocuments(client, prefix)).toBe(2);
  });
});
