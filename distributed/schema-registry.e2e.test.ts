import { apiClient } from '../embedded/testing.js';
import type { BusRecord } from '../platform/bus.js';
import type { IngestBatchResponse } from '../schemas/api.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import type { ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import { HttpSchemaRegistry } from '../schemas/registry.js';
import { type Topic, Topics, valueSubject } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { residentMemoryMiB } from './processes.js';
import { FaultPipeline, violationKinds } from './testing/fault-pipeline.js';

/**
 * Distributed mode with a real schema registry (VIGIL_SCHEMA_REGISTRY_URL): ingest, scoring and ledger-sink with
 * dashboards as three processes on Kafka, in a namespace of their own, every codec registered with and resolved
 * through the Apicurio Registry that `npm run services:up` starts (Confluent API), not the ids of
 * schemas/avro/ids.json. Oracle: every record on tx.raw and tx.scored carries the id the registry lists for its
 * subject, and decodes through a fresh client of the registry to exactly the acknowledged transactions; then the
 * fault suite's oracle (acknowledged ids = stored decisions = audit documents, every postable decision posted once,
 * balanced, read with and without FINAL); each process's peak RSS under MEMORY_BOUND_MIB. Negative controls: the
 * same records under an id the registry does not have are reported unreadable, every one; a posting stored twice and
 * a lost decision planted in the view the suite oracle reads are reported.
 */
const registryUrl = process.env['VIGIL_TEST_SCHEMA_REGISTRY_URL'] ?? 'http://127.0.0.1:8085/apis/ccompat/v7';
const N = 200;
const DRAIN_BOUND_MS = 180_000;
/** Peak resident memory any one process may reach (as the other fault tests). */
const MEMORY_BOUND_MIB = 1536;

/** The id the registry lists for the latest version of a topic's subject. */
async function registeredId(topic: Topic): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(valueSubject(topic))}/versions/latest`);
  if (!response.ok) throw new Error(`no ${valueSubject(topic)} in the registry (${response.status})`);
  return ((await response.json()) as { id: number }).id;
}

/**
 * One line per record that does not carry `id` or does not decode through the registry; the values read, in
 * record order, and their transaction ids.
 */
async function readThroughRegistry<T>(
  records: readonly BusRecord[],
  id: number,
  codec: Codec<T>,
  transactionIdOf: (value: T) => string,
): Promise<{ violations: string[]; values: T[]; transactionIds: string[] }> {
  const violations: string[] = [];
  const values: T[] = [];
  for (const record of records) {
    const at = `${record.topic}/${record.partition}/${record.offset}`;
    if (record.value.readUInt32BE(1) !== id) violations.push(`${at}: schema id ${record.value.readUInt32BE(1)}`);
    try {
      values.push(await codec.decode(record.value));
    } catch (error) {
      violations.push(`${at}: unreadable (${(error as { code?: string }).code ?? String(error)})`);
    }
  }
  return { violations, values, transactionIds: values.map(transactionIdOf) };
}

describe('distributed mode with a Confluent-compatible schema registry (Apicurio)', () => {
  const pipeline = new FaultPipeline('registry', 3);
  const { keys } = pipeline;
  const registry = { VIGIL_SCHEMA_REGISTRY_URL: registryUrl };

  beforeAll(async () => {
    const reachable = await fetch(`${registryUrl}/subjects`).then(
      (r) => r.ok,
      () => false,
    );
    if (!reachable) throw new Error(`No schema registry answers at ${registryUrl}: run \`npm run services:up\``);
    await pipeline.open();
  }, 60_000);

  afterAll(() => pipeline.close(), 120_000);

  it('decides and posts every transaction once, every record framed with and read through the registry’s ids', async () => {
    const sink = await pipeline.startSink(registry);
    const scoring = await pipeline.startScoring(registry);
    const ingestService = await pipeline.startIngest(undefined, registry);

    const simulator = new TrafficSimulator({
      seed: 41,
      startTimeMs: Date.now() - 86_400_000,
      customers: 50,
      terminals: 50,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const response = await apiClient(ingestService.url, keys.ingest).post<IngestBatchResponse>(
      '/v1/transactions/batch',
      simulator.take(N).map((s) => s.request),
    );
    expect(response.status).toBe(200);
    const acknowledged = new Set(
      response.body.results.filter((r) => r.status === 'accepted').map((r) => r.transactionId!),
    );
    expect(acknowledged.size).toBe(N);

    const drainMs = await pipeline.waitUntilDrained(sink, scoring, N, DRAIN_BOUND_MS);

    // A client that has seen nothing: every writer schema comes from the registry by the id in the record.
    const reader = new HttpSchemaRegistry(registryUrl);
    const raw = await pipeline.readTopic(Topics.transactionsRaw);
    const scored = await pipeline.readTopic(Topics.transactionsScored);
    const rawCodec = await createCodec<Transaction>(reader, Topics.transactionsRaw);
    const scoredCodec = await createCodec<ScoredTransaction>(reader, Topics.transactionsScored);
    const rawRead = await readThroughRegistry(
      raw,
      await registeredId(Topics.transactionsRaw),
      rawCodec,
      (t) => t.transactionId,
    );
    const scoredRead = await readThroughRegistry(
      scored,
      await registeredId(Topics.transactionsScored),
      scoredCodec,
      (s) => s.transaction.transactionId,
    );
    expect(rawRead.violations).toEqual([]);
    expect(scoredRead.violations).toEqual([]);
    expect(raw).toHaveLength(N);
    expect(new Set(rawRead.transactionIds)).toEqual(acknowledged);
    expect(new Set(scoredRead.transactionIds)).toEqual(acknowledged);

    // Negative control: the same records framed under an id the registry does not have.
    const missingId = 2_147_483_647;
    const reframed = raw.map((record) => {
      const value = Buffer.from(record.value);
      value.writeUInt32BE(missingId, 1);
      return { ...record, value };
    });
    const control = await readThroughRegistry(reframed, missingId, rawCodec, (t) => t.transactionId);
    expect(control.violations).toEqual(
      raw.map((r) => `${r.topic}/${r.partition}/${r.offset}: unreadable (UNKNOWN_SCHEMA_ID)`),
    );

    const rssMiB = {
      ingest: residentMemoryMiB(ingestService.child.pid)?.peakMiB ?? NaN,
      scoring: residentMemoryMiB(scoring.child.pid)?.peakMiB ?? NaN,
      sink: residentMemoryMiB(sink.child.pid)?.peakMiB ?? NaN,
    };
    for (const peak of Object.values(rssMiB)) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);

    // The suite oracle, on the decisions as read through the registry (each transaction's first is the one stored).
    const firstDecisions = new Map<string, ScoredTransaction>();
    for (const decision of scoredRead.values)
      if (!firstDecisions.has(decision.transaction.transactionId))
        firstDecisions.set(decision.transaction.transactionId, decision);
    const ledger = await pipeline.checkLedger(sink, acknowledged, firstDecisions);
    expect(ledger.sinkExitCode).toBe(0);
    expect(ledger.plain).toEqual([]);
    expect(ledger.final).toEqual([]);
    expect(ledger.auditDocuments).toBe(N);
    // Negative control: a posting stored twice and a lost decision, planted in the view the oracle reads.
    expect(violationKinds(ledger.planted)).toEqual([
      'acknowledged without a decision',
      'entries posted more than once',
      'transactions whose legs do not sum to zero in a currency',
    ]);
    process.stdout.write(
      `schema registry (Kafka): ${N} sent, ${acknowledged.size} acknowledged, ${firstDecisions.size} decided, ` +
        `${ledger.posted} posted, ${ledger.auditDocuments} audit documents, drained in ${(drainMs / 1000).toFixed(1)} s; ` +
        `${raw.length} tx.raw records under id ${await registeredId(Topics.transactionsRaw)}, ` +
        `${scored.length} tx.scored under id ${await registeredId(Topics.transactionsScored)}; peak RSS ingest ` +
        `${rssMiB.ingest.toFixed(0)}, scoring ${rssMiB.scoring.toFixed(0)}, sink ${rssMiB.sink.toFixed(0)} MiB\n`,
    );
  }, 600_000);
});
