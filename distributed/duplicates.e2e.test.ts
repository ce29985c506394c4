import { createHash } from 'node:crypto';
import { apiClient, metricSum, waitFor } from '../embedded/testing.js';
import { postingsForDecision } from '../ledger-sink/domain/postings.js';
import { suiteExpectation, suiteViolations } from '../ledger-sink/testing/suite-oracle.js';
import type { BusRecord } from '../platform/bus.js';
import type { AuditTrail, IngestBatchResponse, LedgerIntegrity, SummaryReport } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { DeadLetter, ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { residentMemoryMiB } from './processes.js';
import { FaultPipeline, violationKinds } from './testing/fault-pipeline.js';

/**
 * Fault 5 of the suite on Kafka: the same transaction produced twice at two offsets, and the same transaction id
 * with other content. Distributed mode, ingest, scoring and ledger-sink with dashboards as three processes in a
 * namespace of their own (distributed/testing/fault-pipeline.ts). N simulated transactions go through ingest's API;
 * once they are decided and posted, the test writes straight onto the topics, keyed as the originals (so each copy
 * follows its original on the same partition):
 *  - K_RAW records of tx.raw again, byte for byte (scoring decides them again; the first stored decision governs),
 *  - K_SCORED records of tx.scored again, byte for byte,
 *  - M_RAW and M_SCORED conflicting copies on tx.raw and tx.scored: an approved, posted transaction's id with
 *    another amount, encoded with the topic's codec. Ingest's fingerprint is a hash of the content, so other content
 *    carries another fingerprint; the copy gets one of its own.
 *
 * Oracle after the drain: acknowledged ids = decisions = audit documents, each once; every postable decision posted
 * exactly once and balanced, with and without FINAL; exactly M conflicts in `ledger_conflicts` and on tx.dlq
 * (LEDGER_CONFLICT, by ledger-sink), each conflicting id booked with its first content's legs only; the summary
 * report counts N transactions with each first decision once; `GET /v1/transactions/{id}` shows one decision per
 * duplicated id, and for a conflicting id its conflict; each drain within DRAIN_BOUND_MS, each process's peak RSS
 * under MEMORY_BOUND_MIB. Negative controls: a doubled decision and a doubled audit
 * id planted in the checker's view, and an extra transaction planted in the summary the count check reads.
 */
const N = 400;
const BATCH = 100;
const PARTITIONS = 2;
const K_RAW = 20;
const K_SCORED = 20;
const M_RAW = 5;
const M_SCORED = 5;
const M = M_RAW + M_SCORED;
const DRAIN_BOUND_MS = 180_000;
/** Peak resident memory any one process may reach (as the other fault tests). */
const MEMORY_BOUND_MIB = 1536;

describe('fault 5: duplicate and conflicting records (distributed, Kafka)', () => {
  const pipeline = new FaultPipeline('fault5', PARTITIONS);

  beforeAll(() => pipeline.open(), 60_000);
  afterAll(() => pipeline.close(), 120_000);

  it('counts a transaction written twice once everywhere, and records a reused id with other content as a conflict, never posted', async () => {
    const { bus, keys } = pipeline;
    const sink = await pipeline.startSink();
    const scoring = await pipeline.startScoring();
    const ingestService = await pipeline.startIngest();

    const startTimeMs = Date.now() - 3 * 86_400_000;
    const simulator = new TrafficSimulator({
      seed: 55,
      startTimeMs,
      customers: 150,
      terminals: 150,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const requests = simulator.take(N).map((s) => s.request);
    const ingest = apiClient(ingestService.url, keys.ingest);
    const compliance = apiClient(sink.url, keys.compliance);
    const acknowledged = new Set<string>();
    for (let batch = 0; batch < N / BATCH; batch++) {
      const response = await ingest.post<IngestBatchResponse>(
        '/v1/transactions/batch',
        requests.slice(batch * BATCH, (batch + 1) * BATCH),
      );
      expect(response.status).toBe(200);
      for (const r of response.body.results) if (r.status === 'accepted') acknowledged.add(r.transactionId!);
    }
    expect(acknowledged.size).toBe(N);
    await pipeline.waitUntilDrained(sink, scoring, N, DRAIN_BOUND_MS);

    // The records to copy, chosen among what is on the topics, each id in one role only.
    const registry = new EmbeddedSchemaRegistry();
    const rawCodec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const rawById = new Map<string, BusRecord>();
    for (const record of await pipeline.readTopic(Topics.transactionsRaw))
      rawById.set((await rawCodec.decode(record.value)).transactionId, record);
    const before = await pipeline.readDecisions();
    expect(before.records.length).toBe(N);
    const scoredById = new Map(before.records.map((r) => [r.decision.transaction.transactionId, r.record]));
    const ids = [...acknowledged].sort();
    const posted = ids.filter((id) => postingsForDecision(before.first.get(id)!).length > 0);
    const conflictIds = posted.slice(0, M);
    const rest = ids.filter((id) => !conflictIds.includes(id));
    const rawCopies = rest.slice(0, K_RAW);
    const scoredCopies = rest.slice(K_RAW, K_RAW + K_SCORED);
    expect(conflictIds.length).toBe(M);

    const injectedAt = Date.now();
    const copy = (record: BusRecord) => ({ key: record.key, value: record.value, headers: record.headers });
    await bus.producer().send(
      Topics.transactionsRaw,
      rawCopies.map((id) => copy(rawById.get(id)!)),
    );
    await bus.producer().send(
      Topics.transactionsScored,
      scoredCopies.map((id) => copy(scoredById.get(id)!)),
    );
    const conflictingFingerprints = new Map<string, string>();
    const otherContent = (tx: Transaction): Transaction => {
      const fingerprint = createHash('sha256').update(`${tx.fingerprint} other content`).digest('hex');
      conflictingFingerprints.set(tx.transactionId, fingerprint);
      return { ...tx, amountMinor: tx.amountMinor + 1n, fingerprint };
    };
    const rawConflicts: Array<{ key: string | null; value: Buffer }> = [];
    for (const id of conflictIds.slice(0, M_RAW)) {
      const original = rawById.get(id)!;
      rawConflicts.push({
        key: original.key,
        value: rawCodec.encode(otherContent(await rawCodec.decode(original.value))),
      });
    }
    const scoredConflicts: Array<{ key: string | null; value: Buffer }> = [];
    for (const id of conflictIds.slice(M_RAW)) {
      const original = scoredById.get(id)!;
      const scored = await scoredCodec.decode(original.value);
      scoredConflicts.push({
        key: original.key,
        value: scoredCodec.encode({ ...scored, transaction: otherContent(scored.transaction) }),
      });
    }
    await bus.producer().send(Topics.transactionsRaw, rawConflicts);
    await bus.producer().send(Topics.transactionsScored, scoredConflicts);

    // Every copy reaches tx.scored once (scoring re-decides what it reads on tx.raw), every conflict is recorded.
    const scoredRecords = N + K_RAW + K_SCORED + M;
    await waitFor(
      `${scoredRecords} records on tx.scored, ${M} conflicts recorded and dead-lettered`,
      async () => {
        if (sum(await bus.endOffsets(Topics.transactionsScored)) < scoredRecords) return undefined;
        if (sum(await bus.endOffsets(Topics.deadLetters)) < M) return undefined;
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.conflicts >= M ? true : undefined;
      },
      DRAIN_BOUND_MS,
      500,
    );
    await pipeline.waitUntilDrained(sink, scoring, N, DRAIN_BOUND_MS);
    const drainMs = Date.now() - injectedAt;

    const integrity = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
    expect(integrity.conflicts).toBe(M);
    expect(integrity.distinctDecisions).toBe(N);
    expect(integrity.decisionRows).toBe(N);

    const letterCodec = await createCodec<DeadLetter>(registry, Topics.deadLetters);
    const letters = await Promise.all(
      (await pipeline.readTopic(Topics.deadLetters)).map((r) => letterCodec.decode(r.value)),
    );
    expect(letters.map((l) => `${l.stage} ${l.errorCode} ${l.sourceTopic}`)).toEqual(
      Array<string>(M).fill(`ledger-sink LEDGER_CONFLICT ${Topics.transactionsScored}`),
    );
    const lettered = await Promise.all(letters.map((l) => scoredCodec.decode(l.originalBytes)));
    expect(lettered.map((s) => `${s.transaction.transactionId} ${s.transaction.fingerprint}`).sort()).toEqual(
      [...conflictingFingerprints].map(([id, fp]) => `${id} ${fp}`).sort(),
    );

    // The dashboards: one transaction per id in the summary, one decision per id in each audit trail.
    const summary = (
      await compliance.get<SummaryReport>(
        `/v1/reports/summary?from=${startTimeMs - 86_400_000}&to=${Date.now() + 86_400_000}`,
      )
    ).body;
    const after = await pipeline.readDecisions();
    expect(after.records.length).toBe(scoredRecords);
    expect(new Set(after.first.keys())).toEqual(acknowledged);
    for (const id of acknowledged) expect(after.first.get(id)).toEqual(before.first.get(id));
    expect(summaryViolations(summary, after.first)).toEqual([]);
    // Negative control: one transaction counted twice, as an extra decision row would count it (in the total and
    // in its volume's decision).
    const [volume, ...otherVolumes] = summary.volumes;
    const [decision, counted] = Object.entries(volume!.byDecision)[0]!;
    const planted: SummaryReport = {
      ...summary,
      totals: { ...summary.totals, transactions: summary.totals.transactions + 1 },
      volumes: [
        { ...volume!, byDecision: { ...volume!.byDecision, [decision]: { ...counted, count: counted.count + 1 } } },
        ...otherVolumes,
      ],
    };
    const expectedOfDecision = [...after.first.values()].filter((s) => s.decision === decision).length;
    expect(summaryViolations(planted, after.first)).toEqual([
      `summary total ${N + 1}, expected ${N}`,
      `summary ${decision} ${expectedOfDecision + 1}, expected ${expectedOfDecision}`,
    ]);

    const trails = new Map<string, AuditTrail>();
    for (const id of [...rawCopies, ...scoredCopies, ...conflictIds])
      trails.set(id, (await compliance.get<AuditTrail>(`/v1/transactions/${encodeURIComponent(id)}`)).body);
    const trailProblems = [...trails].flatMap(([id, trail]) =>
      trailViolations(trail, after.first.get(id)!, conflictingFingerprints.get(id)),
    );
    expect(trailProblems).toEqual([]);
    // Negative control: a conflicting copy's leg booked beside its first content's, and its conflict not shown.
    const conflicted = conflictIds[0]!;
    const shown = trails.get(conflicted)!;
    const leg = shown.ledgerEntries[0]!;
    const otherAmount = String(BigInt(leg.amount.amountMinor) + 1n);
    expect(
      trailViolations(
        {
          ...shown,
          ledgerEntries: [...shown.ledgerEntries, { ...leg, amount: { ...leg.amount, amountMinor: otherAmount } }],
          conflicts: [],
        },
        after.first.get(conflicted)!,
        conflictingFingerprints.get(conflicted),
      ).map((v) => v.split(':')[0]),
    ).toEqual([`${conflicted} legs`, `${conflicted} conflicts`]);

    const metrics = await (
      await fetch(`${sink.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })
    ).text();
    const duplicatesSeen = metricSum(metrics, 'vigil_ledger_duplicates_total');
    const conflictsSeen = metricSum(metrics, 'vigil_ledger_conflicts_total');
    // Scoring decided each tx.raw copy again, on features that now count the transaction twice.
    const decisionsOf = (id: string) =>
      after.records.filter((r) => r.decision.transaction.transactionId === id).map((r) => r.decision.decision);
    for (const id of [...rawCopies, ...scoredCopies]) expect(decisionsOf(id).length).toBe(2);
    const redecidedOtherwise = rawCopies.filter((id) => new Set(decisionsOf(id)).size > 1).length;

    const rssMiB = {
      ingest: residentMemoryMiB(ingestService.child.pid)?.peakMiB ?? NaN,
      scoring: residentMemoryMiB(scoring.child.pid)?.peakMiB ?? NaN,
      sink: residentMemoryMiB(sink.child.pid)?.peakMiB ?? NaN,
    };
    for (const peak of Object.values(rssMiB)) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);

    const ledger = await pipeline.checkLedger(sink, acknowledged, after.first);
    expect(ledger.sinkExitCode).toBe(0);
    expect(ledger.plain).toEqual([]);
    expect(ledger.final).toEqual([]);
    expect(violationKinds(ledger.planted)).toEqual([
      'acknowledged without a decision',
      'entries posted more than once',
      'transactions whose legs do not sum to zero in a currency',
    ]);
    // Negative control: a duplicated id's decision and audit document stored twice, planted in the checker's view.
    const doubled = rawCopies[0]!;
    const { stored } = ledger;
    expect(
      suiteViolations(
        {
          ...stored,
          decisionIds: [...stored.decisionIds, doubled],
          auditIds: [...stored.auditIds!, doubled],
        },
        { ...suiteExpectation([...after.first.values()]), acknowledged },
      ),
    ).toEqual([
      `decisions stored more than once: 1 (${doubled})`,
      `audit documents stored more than once: 1 (${doubled})`,
    ]);

    process.stdout.write(
      `fault 5 (Kafka): ${N} sent, ${acknowledged.size} acknowledged, ${after.first.size} decided, ${ledger.posted} posted, ` +
        `${ledger.auditDocuments} audit documents; injected ${K_RAW} tx.raw and ${K_SCORED} tx.scored byte-identical copies ` +
        `and ${M_RAW}+${M_SCORED} conflicting copies (tx.raw+tx.scored); ${after.records.length} records on tx.scored, ` +
        `${integrity.conflicts} conflicts recorded, ${letters.length} dead letters; summary total ${summary.totals.transactions}; ` +
        `ledger-sink saw ${duplicatesSeen} duplicates and ${conflictsSeen} conflicts; ${redecidedOtherwise} of the ${K_RAW} tx.raw copies re-decided otherwise; ` +
        `drained ${(drainMs / 1000).toFixed(1)} s after the injection; peak RSS ingest ${rssMiB.ingest.toFixed(0)} MiB, ` +
        `scoring ${rssMiB.scoring.toFixed(0)} MiB, sink ${rssMiB.sink.toFixed(0)} MiB\n`,
    );
  }, 600_000);
});

/**
 * How one transaction's audit trail departs from its first decision: more than one decision row, another outcome,
 * fingerprint or amount, legs other than the first content's (an id with legs of two contents shows both), and its
 * conflicts other than `conflictingFingerprint` recorded once (none when undefined). Empty when exact.
 */
function trailViolations(
  trail: AuditTrail,
  first: ScoredTransaction,
  conflictingFingerprint: string | undefined,
): string[] {
  const id = first.transaction.transactionId;
  const violations: string[] = [];
  const compare = (what: string, shown: unknown, expected: unknown): void => {
    if (JSON.stringify(shown) !== JSON.stringify(expected))
      violations.push(`${id} ${what}: ${JSON.stringify(shown)}, expected ${JSON.stringify(expected)}`);
  };
  compare('decision records', trail.decisionRecords, 1);
  compare('outcome', trail.decision.outcome, first.decision);
  compare('fingerprint', trail.fingerprint, first.transaction.fingerprint);
  compare('amount', trail.transaction.amount.amountMinor, String(first.transaction.amountMinor));
  compare(
    'legs',
    trail.ledgerEntries.map((e) => `${e.entryId} ${e.amount.amountMinor}`).sort(),
    postingsForDecision(first)
      .map((e) => `${e.entryId} ${e.amountMinor}`)
      .sort(),
  );
  compare(
    'conflicts',
    trail.conflicts.map((c) => `${c.postedFingerprint} ${c.conflictingFingerprint}`),
    conflictingFingerprint === undefined ? [] : [`${first.transaction.fingerprint} ${conflictingFingerprint}`],
  );
  return violations;
}

/**
 * How the summary report departs from the first decisions: its total, and its count per decision summed over
 * channels and currencies; empty when each transaction is counted once.
 */
function summaryViolations(report: SummaryReport, first: ReadonlyMap<string, ScoredTransaction>): string[] {
  const violations: string[] = [];
  if (report.totals.transactions !== first.size)
    violations.push(`summary total ${report.totals.transactions}, expected ${first.size}`);
  const expected = new Map<string, number>();
  for (const scored of first.values()) expected.set(scored.decision, (expected.get(scored.decision) ?? 0) + 1);
  const counted = new Map<string, number>();
  for (const volume of report.volumes)
    for (const [decision, { count }] of Object.entries(volume.byDecision))
      counted.set(decision, (counted.get(decision) ?? 0) + count);
  for (const decision of new Set([...expected.keys(), ...counted.keys()]))
    if ((counted.get(decision) ?? 0) !== (expected.get(decision) ?? 0))
      violations.push(`summary ${decision} ${counted.get(decision) ?? 0}, expected ${expected.get(decision) ?? 0}`);
  return violations;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
