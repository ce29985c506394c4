import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, waitFor, webhookDeliveryViolations } from '../embedded/testing.js';
import { WebhookReceiver } from '../notifier/testing/receiver.js';
import type {
  AuditTrail,
  IngestBatchResponse,
  LedgerIntegrity,
  SyncDecision,
  TransactionRequest,
} from '../schemas/api.js';
import type { DecisionMadeData, TransactionPostedData, WebhookEndpointCreated } from '../schemas/webhooks.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type ServiceProcess, resetTestBroker, startService, stopService } from './processes.js';

/**
 * Decisions back to the payment system in distributed mode, on the local Kafka: ingest, scoring, ledger-sink with
 * dashboards, and the notifier each in its own process. The notifier reads tx.scored and ledger.events from Kafka
 * and delivers signed webhooks to a real local receiver that fails every other `decision.made` request; it is
 * SIGKILLed with deliveries pending and restarted on the same outbox. Forty concurrent synchronous requests with one
 * transaction id get one decision. Oracle (webhookDeliveryViolations, shown to fail on planted input in
 * embedded/testing.test.ts): every acknowledged transaction's decision arrived at least once and nothing else did,
 * every APPROVE that books money arrived as `transaction.posted`, every signature verified by Stripe's verifier, and
 * repeats carry their first delivery's event id.
 */
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const keys = {
  ingest: 'dist-hooks-ingest-key-0123456789',
  compliance: 'dist-hooks-compliance-key-012345',
  admin: 'dist-hooks-admin-key-0123456789',
};
const N = 600;
const WARM_UP_PREFIX = 'warm-up-';
const SYNC_ID = 'dist-hooks-sync-40';

describe('webhooks in distributed mode (notifier on Kafka) across kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-hooks-'));
  const services: ServiceProcess[] = [];
  let receiver: WebhookReceiver;
  const env = {
    ...process.env,
    VIGIL_KAFKA_BROKERS: brokers.join(','),
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
    VIGIL_TOKENIZATION_KEY: 'dist-hooks-tokenization-key-0123456789ab',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: '0',
    VIGIL_PARTITIONS: '4',
    VIGIL_LOG_LEVEL: 'info',
  };

  async function start(stages: string[], extra: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService(stages, { ...env, ...extra });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    // A clean slate on the shared test broker: this test uses the product's real topic names.
    await resetTestBroker(brokers);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s)));
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('delivers every decision and posting at least once under one event id after a notifier SIGKILL; 40 concurrent sync requests get one decision', async () => {
    const sink = await start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring') });
    // A deadline long enough for a loaded machine: the concurrent synchronous requests below expect 200s.
    const ingestService = await start(['ingest'], {
      VIGIL_DATA_DIR: join(dataDir, 'ingest'),
      VIGIL_DECISION_DEADLINE_MS: '30000',
    });
    const notifierEnv = {
      VIGIL_DATA_DIR: join(dataDir, 'notifier'),
      // The broker reset deletes only the pipeline's groups; a group of its own per run starts this one afresh.
      VIGIL_NOTIFIER_GROUP: `notifier-e2e-${Date.now()}`,
      VIGIL_WEBHOOK_SECRET_KEY: 'dist-hooks-webhook-sealing-key-0123456789',
      VIGIL_WEBHOOK_ALLOWED_TARGETS: `127.0.0.1:${receiver.port}`,
      VIGIL_WEBHOOK_INITIAL_BACKOFF_MS: '50',
      VIGIL_WEBHOOK_MAX_BACKOFF_MS: '500',
      VIGIL_WEBHOOK_MAX_CONSECUTIVE_FAILURES: '1000000',
    };
    let notifier = await start(['notifier'], notifierEnv);

    const admin = apiClient(notifier.url, keys.admin);
    for (const [path, events] of [
      ['/decisions', ['decision.made']],
      ['/ledger', ['transaction.posted']],
    ] as const) {
      const created = await admin.post<WebhookEndpointCreated>('/v1/webhooks', {
        url: `${receiver.url}${path}`,
        events,
      });
      expect(created.status).toBe(201);
      receiver.trust(path, created.body.secret);
    }
    // Every other decision request fails, so retries are pending in the outbox when the notifier is killed.
    receiver.setBehaviour(({ path, n }) => (path === '/decisions' && n % 2 === 0 ? 503 : 200));

    const simulator = new TrafficSimulator({
      seed: 29,
      startTimeMs: Date.now() - 86_400_000,
      customers: 200,
      terminals: 100,
      meanTxPerCustomerPerDay: 8,
    });
    const [warmUpTemplate, ...rest] = simulator.take(N + 2).map((s) => s.request);
    const syncTemplate = rest.pop()!;
    const requests: TransactionRequest[] = rest;
    const ingest = apiClient(ingestService.url, keys.ingest);

    // The notifier's fan-out group starts at the topics' end once it has its partitions: until a decision made now
    // reaches the receiver, a decision could be made before the group is in place and never become an event.
    let warmUps = 0;
    await waitFor(
      'the notifier delivering',
      async () => {
        const warmUp = { ...warmUpTemplate!, transactionId: `${WARM_UP_PREFIX}${warmUps}` };
        const accepted = await ingest.post('/v1/transactions', warmUp);
        if (accepted.status !== 202) throw new Error(`warm-up answered ${accepted.status}`);
        warmUps++;
        return receiver.delivered('/decisions').length > 0 ? true : undefined;
      },
      120_000,
      1000,
    );

    const sync = { ...syncTemplate, transactionId: SYNC_ID };
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => ingest.post<SyncDecision>('/v1/decisions', sync)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 40 }, () => 200));
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);

    const acknowledged = new Set<string>([SYNC_ID]);
    for (let i = 0; i < requests.length; i += 100) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(i, i + 100));
      expect(response.status).toBe(200);
      for (const r of response.body.results) if (r.status === 'accepted') acknowledged.add(r.transactionId!);
    }
    expect(acknowledged.size).toBe(N + 1);

    const ours = (path: string) =>
      receiver
        .delivered(path)
        .filter((r) => !(r.event.data as { transactionId: string }).transactionId.startsWith(WARM_UP_PREFIX));
    await waitFor('deliveries under way', () => (ours('/decisions').length >= 60 ? true : undefined), 180_000);
    const killed = notifier;
    await new Promise<void>((resolve) => {
      killed.child.once('exit', () => resolve());
      killed.child.kill('SIGKILL');
    });
    const deliveredBeforeKill = new Set(ours('/decisions').map((r) => r.event.id)).size;
    expect(deliveredBeforeKill).toBeLessThan(N + 1);

    // Same outbox directory and group; the receiver is healthy now.
    receiver.setBehaviour(() => 200);
    notifier = await start(['notifier'], notifierEnv);
    const decided = () =>
      new Map(ours('/decisions').map((r) => [(r.event.data as DecisionMadeData).transactionId, r.event.data]));
    await waitFor(`all ${N + 1} decisions delivered`, () => (decided().size >= N + 1 ? true : undefined), 300_000);

    const deliveries = (path: string) =>
      ours(path).map((r) => ({
        eventId: r.event.id,
        subjectId: (r.event.data as { transactionId: string }).transactionId,
        verified: r.verified,
      }));
    const decisions = webhookDeliveryViolations(acknowledged, deliveries('/decisions'));
    expect(decisions.violations).toEqual([]);
    // Negative control: the same oracle over the deliveries with one transaction's taken out names it.
    const withoutSync = deliveries('/decisions').filter((d) => d.subjectId !== SYNC_ID);
    expect(webhookDeliveryViolations(acknowledged, withoutSync).violations).toEqual([`${SYNC_ID}: never delivered`]);

    // The synchronous answer and the webhook tell the payment system the same thing.
    const syncDelivered = decided().get(SYNC_ID) as DecisionMadeData;
    expect({ decision: syncDelivered.decision, score: syncDelivered.score }).toEqual({
      decision: answers[0]!.body.decision,
      score: answers[0]!.body.score,
    });

    // Every APPROVE that books money (all but authorisations, which hold) is announced as posted, once per event id —
    // but for a refund the ledger refuses (its payment held, declined, reversed or not sent here: it books only what
    // its payment still holds, ledger-sink/domain/refunds.ts), whose stored decision names the reason instead.
    const compliance = apiClient(sink.url, keys.compliance);
    const kindOf = new Map([...requests, sync].map((r) => [r.transactionId, r.kind ?? 'purchase']));
    const approvedMoney = [...decided().values()]
      .map((d) => d as DecisionMadeData)
      .filter((d) => d.decision === 'APPROVE' && kindOf.get(d.transactionId) !== 'authorization')
      .map((d) => d.transactionId);
    const refusedRefunds = new Set<string>();
    for (const id of approvedMoney.filter((t) => kindOf.get(t) === 'refund')) {
      const trail = await waitFor(
        `the decision of refund ${id} stored`,
        async () => {
          const answer = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
          return answer.status === 200 ? answer.body : undefined;
        },
        120_000,
      );
      if (trail.decision.unpostedReason !== null) refusedRefunds.add(id);
    }
    const expectedPosted = new Set(approvedMoney.filter((id) => !refusedRefunds.has(id)));
    expect(expectedPosted.size).toBeGreaterThan(0);
    await waitFor(
      'every posting delivered',
      () => (new Set(deliveries('/ledger').map((d) => d.subjectId)).size >= expectedPosted.size ? true : undefined),
      180_000,
    );
    const postings = webhookDeliveryViolations(expectedPosted, deliveries('/ledger'));
    expect(postings.violations).toEqual([]);
    const posting = ours('/ledger')[0]!.event.data as TransactionPostedData;
    expect(posting.legs.length).toBeGreaterThan(1);

    // The ledger agrees: one decision per transaction (the sync id's 40 requests included), balanced.
    const integrity = await waitFor(
      'every decision stored',
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.decisionRows >= N + 1 + warmUps ? report : undefined;
      },
      120_000,
    );
    expect(integrity).toMatchObject({
      decisionRows: N + 1 + warmUps,
      distinctDecisions: N + 1 + warmUps,
      duplicateEntries: 0,
      unbalancedTransactions: 0,
      conflicts: 0,
    });

    process.stdout.write(
      `distributed webhooks e2e: ${N + 1} decisions (${warmUps} warm-ups), ${deliveredBeforeKill} delivered before the ` +
        `kill, ${decisions.duplicates} decision repeats; ${expectedPosted.size} postings, ${postings.duplicates} ` +
        `repeats; ${receiver.requests.length} requests in all\n`,
    );
  }, 900_000);
});
