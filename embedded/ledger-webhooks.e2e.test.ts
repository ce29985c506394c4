import { currencyExponent, decimalToMinorUnits } from '../schemas/currencies.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebhookReceiver } from '../notifier/testing/receiver.js';
import { luhnCheckDigit } from '../platform/pan.js';
import type { IngestBatchResponse, TransactionRequest } from '../schemas/api.js';
import type {
  DecisionMadeData,
  TransactionPostedData,
  TransactionReversedData,
  WebhookEndpointCreated,
} from '../schemas/webhooks.js';
import { TrafficSimulator } from '../simulator/generator.js';
import {
  type PipelineProcess,
  apiClient,
  killPipelineProcess,
  startPipelineProcess,
  stopPipelineProcess,
  waitFor,
  webhookDeliveryViolations,
} from './testing.js';

/**
 * `transaction.posted` and `transaction.reversed` end to end on the embedded default: one endpoint takes
 * `decision.made`, another the two ledger types. From the decisions the receiver saw, the oracle knows what the ledger
 * must announce: a posting for every APPROVE of a kind that books (not an AUTHORIZATION), and for every REVIEW an
 * analyst marks GENUINE; a reversal for every APPROVE marked FRAUD. Each exactly that set, every signature verified by
 * Stripe's verifier, repeats under one id (webhookDeliveryViolations, shown to fail on planted input in
 * testing.test.ts).
 */
const keys = {
  ingest: 'ledger-webhooks-e2e-ingest-key-0123',
  admin: 'ledger-webhooks-e2e-admin-key-01234',
  analyst: 'ledger-webhooks-e2e-analyst-key-012',
};
const N = 300;
const VERDICTS_EACH = 10;

describe('ledger webhooks on the embedded default', () => {
  let dataDir: string;
  let receiver: WebhookReceiver;
  let running: PipelineProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-webhooks-e2e-'));
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    if (running) await killPipelineProcess(running);
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers one signed transaction.posted per booking and one transaction.reversed per FRAUD reversal', async () => {
    running = await startPipelineProcess(dataDir, {
      VIGIL_API_KEYS: `ingest:${keys.ingest},admin:${keys.admin},analyst:${keys.analyst}`,
      VIGIL_WEBHOOK_ALLOWED_TARGETS: `127.0.0.1:${receiver.port}`,
    });
    const admin = apiClient(running.url, keys.admin);
    for (const [path, events] of [
      ['/decisions', ['decision.made']],
      ['/ledger', ['transaction.posted', 'transaction.reversed']],
    ] as const) {
      const created = await admin.post<WebhookEndpointCreated>('/v1/webhooks', {
        url: `${receiver.url}${path}`,
        events,
      });
      expect(created.status).toBe(201);
      receiver.trust(path, created.body.secret);
    }

    const simulator = new TrafficSimulator({
      seed: 23,
      startTimeMs: Date.now() - 86_400_000,
      customers: 150,
      terminals: 80,
      meanTxPerCustomerPerDay: 8,
      // Enough fraud for REVIEW decisions to mark GENUINE.
      fraudScale: 3,
    });
    const requests: TransactionRequest[] = [...simulator.take(N).map((s) => s.request), ...cardTestingBursts()];
    const ingest = apiClient(running.url, keys.ingest);
    for (let i = 0; i < requests.length; i += 100) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(i, i + 100));
      expect(response.status).toBe(200);
      expect(response.body.results.filter((r) => r.status !== 'accepted')).toEqual([]);
    }
    const decisions = () => {
      const byId = new Map<string, DecisionMadeData>();
      for (const r of receiver.delivered('/decisions')) {
        const data = r.event.data as DecisionMadeData;
        byId.set(data.transactionId, data);
      }
      return byId;
    };
    await waitFor(
      `all ${requests.length} decisions delivered`,
      () => (decisions().size >= requests.length ? true : undefined),
      240_000,
    );

    const kindOf = new Map(requests.map((r) => [r.transactionId, r.kind ?? 'purchase']));
    const books = (d: DecisionMadeData) => kindOf.get(d.transactionId) !== 'authorization';
    const approved = [...decisions().values()].filter((d) => d.decision === 'APPROVE' && books(d));
    const reviewed = [...decisions().values()].filter((d) => d.decision === 'REVIEW' && books(d));
    // One analyst's verdicts: a hold above the four-eyes limit (default 1,000 EUR/GBP/USD; any amount in other
    // currencies) needs a second analyst's approval, so the holds released here are within it.
    const requestOf = new Map(requests.map((r) => [r.transactionId, r]));
    const withinFourEyes = (d: DecisionMadeData): boolean => {
      const held = requestOf.get(d.transactionId)!.settlementAmount ?? requestOf.get(d.transactionId)!.amount;
      const minor = decimalToMinorUnits(held.value, currencyExponent(held.currency) ?? 2);
      return ['EUR', 'GBP', 'USD'].includes(held.currency) && minor !== undefined && minor <= 100_000n;
    };
    const genuine = reviewed
      .filter(withinFourEyes)
      .slice(0, VERDICTS_EACH)
      .map((d) => d.transactionId);
    const fraud = approved.slice(0, VERDICTS_EACH).map((d) => d.transactionId);
    expect([genuine.length, fraud.length]).toEqual([VERDICTS_EACH, VERDICTS_EACH]);
    const analyst = apiClient(running.url, keys.analyst);
    for (const [ids, label] of [
      [genuine, 'genuine'],
      [fraud, 'fraud'],
    ] as const)
      for (const transactionId of ids) {
        const answer = await analyst.post('/v1/labels', { transactionId, label });
        expect(answer.status).toBeLessThan(300);
      }

    const expectedPosted = new Set([...approved.map((d) => d.transactionId), ...genuine]);
    const expectedReversed = new Set(fraud);
    const ledger = (type: string) => receiver.delivered('/ledger').filter((r) => r.event.type === type);
    const subjects = (type: string) =>
      new Set(ledger(type).map((r) => (r.event.data as TransactionPostedData).transactionId));
    await waitFor(
      'every posting and reversal delivered',
      () =>
        subjects('transaction.posted').size >= expectedPosted.size &&
        subjects('transaction.reversed').size >= expectedReversed.size
          ? true
          : undefined,
      240_000,
    );

    for (const [type, expected] of [
      ['transaction.posted', expectedPosted],
      ['transaction.reversed', expectedReversed],
    ] as const) {
      const { violations } = webhookDeliveryViolations(
        expected,
        ledger(type).map((r) => ({
          eventId: r.event.id,
          subjectId: (r.event.data as TransactionPostedData).transactionId,
          verified: r.verified,
        })),
      );
      expect(violations).toEqual([]);
    }
    // The reversal names whose verdict it carries out and which entries it reverses; its legs undo the posting's.
    const reversal = ledger('transaction.reversed')[0]!.event.data as TransactionReversedData;
    const posting = ledger('transaction.posted').find(
      (r) => (r.event.data as TransactionPostedData).transactionId === reversal.transactionId,
    )!.event.data as TransactionPostedData;
    expect(reversal.cause).toMatchObject({ type: 'verdict', verdict: 'FRAUD' });
    expect(reversal.reversedEntryIds).toEqual(posting.legs.map((l) => l.entryId));
    expect(reversal.legs.map((l) => l.amount.value)).toEqual(
      posting.legs.map((l) => (l.amount.value.startsWith('-') ? l.amount.value.slice(1) : `-${l.amount.value}`)),
    );
    const held = ledger('transaction.posted').find(
      (r) => (r.event.data as TransactionPostedData).transactionId === genuine[0],
    );
    expect((held?.event.data as TransactionPostedData | undefined)?.cause).toMatchObject({
      type: 'verdict',
      verdict: 'GENUINE',
    });
    process.stdout.write(
      `ledger webhooks e2e: ${requests.length} transactions, ${expectedPosted.size} postings (${genuine.length} after GENUINE), ` +
        `${expectedReversed.size} reversals, ${receiver.delivered('/ledger').length} ledger deliveries\n`,
    );
    expect(await stopPipelineProcess(running)).toBe(0);
    running = undefined;
  }, 600_000);
});

/**
 * Card testing, which the rules send to REVIEW (R_CNP card-not-present bursts): per card six 1.00 EUR online
 * purchases a minute apart, so there are holds for analysts to mark GENUINE.
 */
function cardTestingBursts(): TransactionRequest[] {
  const start = Date.now() - 3 * 3_600_000;
  return Array.from({ length: 12 }, (_, card) => {
    const partial = `4000${String(card).padStart(11, '0')}`;
    const number = `${partial}${luhnCheckDigit(partial)}`;
    return Array.from({ length: 6 }, (_, i): TransactionRequest => ({
      transactionId: `cnp-${card}-${i}`,
      channel: 'card',
      amount: { value: '1.00', currency: 'EUR' },
      payer: { accountId: `cnp-payer-${card}` },
      payee: { accountId: `cnp-shop-${i}` },
      card: { number, present: false },
      merchant: { id: `cnp-shop-${i}` },
      eventTime: new Date(start + card * 600_000 + i * 60_000).toISOString(),
    }));
  }).flat();
}
