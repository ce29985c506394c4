/**
 * Ingest replicas for tests and the benchmark of idempotency across replicas: Ingestors sharing one real Kafka
 * broker, each with its own client and its own idempotency store (the claims topic, or a file journal each).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusRecord, Producer } from '../../platform/bus.js';
import { systemClock } from '../../platform/clock.js';
import { UnavailableError } from '../../platform/errors.js';
import { type KafkaTestContext, readAll } from '../../platform/kafka/test-helpers.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import type { IngestResult } from '../../schemas/api.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClaimsIdempotencyStore, encodeClaimRecord } from '../adapters/claims-idempotency-store.js';
import { HmacPanTokenizer, sha256Hasher } from '../adapters/crypto.js';
import { FileIdempotencyStore } from '../adapters/file-idempotency-store.js';
import { type IntakeItem, Ingestor } from '../app/ingestor.js';
import { createIngestMetrics } from '../app/metrics.js';
import type { ClaimRules } from '../domain/claims.js';
import type { IdempotencyStore } from '../ports.js';
import { TEST_KEY, cardRequest, recordingLogger } from './fixtures.js';

/** Ingest's validation limits as configured by default. */
export const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
/** Partitions of the scenario's tx.raw and claims topics. */
export const PARTITIONS = 4;
/** The claim timeout replicas get unless a scenario sets its own (the production default). */
export const CLAIM_TIMEOUT_MS = 60_000;
/** One event time for every request: it is part of the content, so retries must carry the same. */
export const EVENT_TIME = new Date(Date.now() - 60_000).toISOString();

export interface ReplicaOptions {
  readonly rules?: Partial<ClaimRules>;
  /** The claims store's longest wait per request (default 10 s). */
  readonly waitMs?: number;
  /** Sends to tx.raw that fail (retriable) before the rest go through: an append that fails after the claim. */
  readonly failRawSends?: number;
}

export interface Replica {
  readonly name: string;
  /** Produce requests this replica sent to the claims topic. */
  readonly claimSends: () => number;
  readonly ingestor: Ingestor;
  readonly store: IdempotencyStore;
  accept(...bodies: unknown[]): Promise<IngestResult[]>;
}

/** The topics one scenario uses, shared by its replicas. */
export interface Cluster {
  readonly raw: string;
  readonly dlq: string;
  readonly claims: string;
  readonly registry: EmbeddedSchemaRegistry;
  /** Starts a replica; `store` picks its idempotency store. */
  replica(name: string, store: 'claims' | 'journal', options?: ReplicaOptions): Promise<Replica>;
  /** The transactions on this cluster's tx.raw, in no particular order. */
  rawRecords(): Promise<BusRecord[]>;
  /** Writes claims records as a replica would, e.g. one that died after claiming. */
  writeClaims(...records: Parameters<typeof encodeClaimRecord>[0][]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A scenario's topics (unique names, deleted by `kafka.cleanup()`) and the replicas started on them, each an
 * Ingestor with its own KafkaBus client, as in distributed mode.
 */
export async function cluster(kafka: KafkaTestContext): Promise<Cluster> {
  const dirs: string[] = [];
  const raw = kafka.topic('tx-raw');
  const dlq = kafka.topic('tx-dlq');
  const claims = kafka.topic('ingest-idempotency');
  const names: Record<string, string> = { [Topics.transactionsRaw]: raw, [Topics.deadLetters]: dlq };
  const admin = await kafka.bus();
  await admin.ensureTopics([
    { topic: raw, partitions: PARTITIONS },
    { topic: dlq, partitions: 1 },
    { topic: claims, partitions: PARTITIONS },
  ]);
  const registry = new EmbeddedSchemaRegistry();
  const replicas: Replica[] = [];
  return {
    raw,
    dlq,
    claims,
    registry,
    async replica(name, storeKind, options = {}) {
      const bus = await kafka.bus({ clientId: `vigil-test-${name}` });
      let rawFailures = options.failRawSends ?? 0;
      // Ingest writes to Vigil's topic names; this replica's producer maps them to the test's own.
      const renamed: Producer = {
        send: (topic, records) => {
          if (topic === Topics.transactionsRaw && rawFailures > 0) {
            rawFailures--;
            return Promise.reject(new UnavailableError('KAFKA_UNAVAILABLE', 'planted: tx.raw append failed'));
          }
          return bus.producer().send(names[topic] ?? topic, records);
        },
      };
      const renamedBus: Bus = Object.assign(Object.create(bus) as Bus, { producer: () => renamed });
      let claimSends = 0;
      const counting: Producer = {
        send: (topic, records) => {
          if (topic === claims) claimSends++;
          return bus.producer().send(topic, records);
        },
      };
      const countingBus: Bus = Object.assign(Object.create(bus) as Bus, { producer: () => counting });
      const logger = recordingLogger();
      let store: IdempotencyStore;
      if (storeKind === 'claims') {
        store = await ClaimsIdempotencyStore.open({
          bus: countingBus,
          topic: claims,
          partitions: PARTITIONS,
          replica: name,
          rules: { windowMs: 0, claimTimeoutMs: CLAIM_TIMEOUT_MS, ...options.rules },
          clock: systemClock,
          logger,
          ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
          groupId: kafka.group(`ingest-idempotency-${name}`),
        });
      } else {
        const dir = await mkdtemp(join(tmpdir(), `vigil-replica-${name}-`));
        dirs.push(dir);
        store = await FileIdempotencyStore.open(dir, logger);
      }
      const ingestor = new Ingestor({
        producer: renamed,
        codec: await createCodec<Transaction>(registry, Topics.transactionsRaw),
        deadLetters: await DeadLetterWriter.create(renamedBus, registry, 'ingest', systemClock),
        store,
        tokenizer: new HmacPanTokenizer(TEST_KEY),
        hasher: sha256Hasher,
        clock: systemClock,
        limits,
        metrics: createIngestMetrics(new MetricsRegistry()),
        logger,
      });
      const replica: Replica = {
        name,
        claimSends: () => claimSends,
        ingestor,
        store,
        accept: (...bodies) =>
          ingestor.accept(
            bodies.map((body): IntakeItem => ({ kind: 'parsed', body })),
            'API',
            'test',
          ),
      };
      replicas.push(replica);
      return replica;
    },
    async rawRecords() {
      const parts = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => readAll(admin, raw, p)));
      return parts.flat();
    },
    async writeClaims(...records) {
      await admin.producer().send(claims, records.map(encodeClaimRecord));
    },
    async close() {
      for (const replica of replicas.splice(0)) {
        await replica.ingestor.drain();
        await replica.store.close();
      }
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** A valid card request with `id`; `variant` changes the content (amount), so two variants conflict. */
export function request(id: string, variant = 0): Record<string, unknown> {
  return cardRequest({
    transactionId: id,
    amount: { value: `${10 + variant}.00`, currency: 'EUR' },
    eventTime: EVENT_TIME,
  });
}

/** Transaction ids on tx.raw (Avro strings are length-prefixed UTF-8, so the id's bytes appear verbatim). */
export function rawCount(records: readonly BusRecord[], id: string): number {
  return records.filter((r) => r.value.includes(Buffer.from(id, 'utf8'))).length;
}
