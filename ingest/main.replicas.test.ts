import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../platform/auth.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { MetricsRegistry } from '../platform/metrics.js';
import type { IngestResult } from '../schemas/api.js';
import { Topics } from '../schemas/topics.js';
import { type IngestDeps, type IngestStage, startIngest } from './main.js';
import { TEST_KEY, cardRequest } from './testing/fixtures.js';
import { readAll, testContext } from './testing/harness.js';

/**
 * The composition root's choice of idempotency store: two ingest stages on one bus (the embedded log here; Kafka
 * in ingest/adapters/claims-idempotency-store.int.test.ts) with `idempotency: claims` answer a repeated id alike;
 * with the default journal, each in its own data directory, they do not (the negative control).
 */
async function twoReplicas(idempotency: IngestDeps['idempotency']) {
  const logDir = await mkdtemp(join(tmpdir(), 'vigil-ingest-replicas-'));
  const bus = await EmbeddedLog.open({ dir: logDir });
  const ctx = await testContext(bus);
  const stages: IngestStage[] = [];
  for (const name of ['a', 'b'])
    stages.push(
      await startIngest({
        bus,
        registry: ctx.registry,
        authenticator: new ApiKeyAuthenticator([]),
        logger: ctx.logger,
        metrics: new MetricsRegistry(),
        clock: ctx.clock,
        dataDir: join(ctx.dataDir, name),
        env: { VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_INGEST_INSTANCE_ID: name },
        ...(idempotency === undefined ? {} : { idempotency }),
      }),
    );
  const [a, b] = stages as [IngestStage, IngestStage];
  return {
    a,
    b,
    rawCount: async () => (await readAll(bus, Topics.transactionsRaw)).length,
    close: async () => {
      for (const stage of stages) await stage.close();
      await bus.close();
      await ctx.cleanup();
      await rm(logDir, { recursive: true, force: true });
    },
  };
}

const statuses = (results: readonly IngestResult[][]) => results.map((r) => r.map((item) => item.status).join());

describe('startIngest with two replicas on one bus', () => {
  test('idempotency: claims — 20 concurrent attempts on both: one accepted, the rest duplicates, on tx.raw once', async () => {
    const r = await twoReplicas({ store: 'claims', partitions: 4 });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? r.a : r.b).accept([cardRequest()], 'API', 'test')),
      );
      const answered = statuses(results);
      expect(answered.filter((s) => s === 'accepted')).toHaveLength(1);
      expect(answered.filter((s) => s === 'duplicate')).toHaveLength(19);
      expect(await r.rawCount()).toBe(1);
      expect(r.a.isReady() && r.b.isReady()).toBe(true);
    } finally {
      await r.close();
    }
  }, 60_000);

  test('negative control: the default journal, one per replica — each replica accepts the id once', async () => {
    const r = await twoReplicas(undefined);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? r.a : r.b).accept([cardRequest()], 'API', 'test')),
      );
      expect(statuses(results).filter((s) => s === 'accepted')).toHaveLength(2);
      expect(await r.rawCount()).toBe(2);
    } finally {
      await r.close();
    }
  }, 60_000);
});
