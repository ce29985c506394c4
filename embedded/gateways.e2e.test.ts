import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { AccountBalance, AuditTrail, ChannelFileResponse, SyncDecision } from '../schemas/api.js';
import { payrollFile, returnFile } from '../ingest/testing/nacha.js';
import {
  ADYEN_TEST_ENV,
  adyenBasicAuth,
  adyenItem,
  adyenNotification,
  signedAdyenItem,
} from '../ingest/testing/adyen.js';
import { adyenTransactionId } from '../ingest/domain/channels/gateways/adyen.js';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import { STRIPE_TEST_SECRET, charge, dispute, stripeEvent, stripeSignature } from '../ingest/testing/stripe.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, waitFor } from './testing.js';

/**
 * NACHA files and Stripe webhooks end to end on the embedded default: a payroll file's entries are scored, booked in
 * exact cents and audited with their record numbers and trace numbers, its prenote rejected at its record; a return
 * file books the returned credit back; a signed Stripe charge is booked in exact minor units and audited with its
 * event; a fraud dispute on it is a FRAUD verdict by `chargeback` that takes the money back. An Adyen authorisation,
 * capture and refund, each a signed notification, are held and booked in exact minor units, and a chargeback
 * reverses the capture.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
};

describe('NACHA, Stripe and Adyen channels (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let ingest: ReturnType<typeof apiClient>;
  let compliance: ReturnType<typeof apiClient>;
  let analyst: ReturnType<typeof apiClient>;
  // Ingest refuses event times older than 30 days: the files and events are dated now (a file to the minute).
  const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-gateways-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
        ...ADYEN_TEST_ENV,
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    ingest = apiClient(pipeline.url, keys.ingest);
    compliance = apiClient(pipeline.url, keys.compliance);
    analyst = apiClient(pipeline.url, keys.analyst);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** The audit trail once the ledger has settled the decision: booked, held for a verdict, or declined. */
  const settled = (id: string): Promise<AuditTrail> =>
    waitFor(`the decision on ${id} and its ledger state`, async () => {
      const decision = await ingest.get<SyncDecision>(`/v1/decisions/${id}`);
      if (decision.status !== 200) return undefined;
      const trail = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      if (trail.status !== 200) return undefined;
      const outcome = trail.body.decision.outcome;
      if (outcome === 'APPROVE' && trail.body.ledgerEntries.length === 0) return undefined;
      if (outcome === 'REVIEW' && trail.body.hold === null) return undefined;
      return trail.body;
    });

  /** Books a transaction held for review with a GENUINE verdict, so every good item ends booked. */
  const booked = async (id: string): Promise<AuditTrail> => {
    const trail = await settled(id);
    if (trail.decision.outcome !== 'REVIEW') return trail;
    expect((await analyst.post('/v1/labels', { transactionId: id, label: 'genuine' })).status).toBeLessThan(300);
    return waitFor(`the verdict on ${id} to book its hold`, async () => {
      const r = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      return r.status === 200 && r.body.ledgerEntries.length > 0 ? r.body : undefined;
    });
  };

  const balanceOf = async (account: string, currency: string): Promise<bigint> => {
    const balance = (await analyst.get<AccountBalance>(`/v1/accounts/${account}/balance`)).body;
    return BigInt(balance.balances.find((b) => b.currency === currency)?.posted.amountMinor ?? '0');
  };
  const legs = (trail: AuditTrail) =>
    trail.ledgerEntries.map((e) => [e.accountId, e.amount.amountMinor, e.amount.currency]);

  it('books a NACHA file entry by entry in exact cents, rejects its prenote at its record, and books a return back', async () => {
    const send = (text: string) => ingest.post<ChannelFileResponse>('/v1/channels/nacha', text, 'text/plain');
    const file = await send(payrollFile(now));
    expect(file.status).toBe(200);
    expect(file.body.results.map((r) => [r.location, r.status, r.problems?.map((p) => p.path)])).toEqual([
      ['record 3', 'accepted', undefined],
      ['record 5', 'accepted', undefined],
      ['record 6', 'rejected', ['record 6, positions 2-3 (Transaction Code)']],
      ['record 9', 'accepted', undefined],
    ]);
    const trails: AuditTrail[] = [];
    for (const result of file.body.results.filter((r) => r.status === 'accepted'))
      trails.push(await booked(result.transactionId!));
    expect(trails[0]!.transaction.source).toBe('FILE');
    expect(trails[0]!.transaction.sourceDocument).toEqual({
      format: 'nacha',
      location: 'record 3',
      references: file.body.results[0]!.references,
    });
    expect(trails[0]!.transaction.sourceDocument!.references).toMatchObject({
      SEC: 'PPD',
      TraceNumber: '121042880000001',
      CompanyId: '1234567890',
    });
    // Each entry booked to the cent between the originator and the receiver, unless scoring declined it.
    const expected = [
      [
        ['ach-originator:12104288:1234567890', '-123456', 'USD'],
        ['ach:09100001:123456789', '123456', 'USD'],
      ],
      [
        ['ach:09100001:555000111', '-4567', 'USD'],
        ['ach-originator:12104288:1234567890', '4567', 'USD'],
      ],
      [
        ['ach-originator:12104288:1234567890', '-10000000', 'USD'],
        ['ach:02600959:9988776655', '10000000', 'USD'],
      ],
    ];
    expect(trails.map((t) => (t.decision.outcome === 'DECLINE' ? 'declined' : legs(t)))).toEqual(
      expected.map((e, i) => (trails[i]!.decision.outcome === 'DECLINE' ? 'declined' : e)),
    );
    expect((await send(payrollFile(now))).body.file.status).toBe('duplicate');

    // The return of the credit of record 3: a refund of it, from the receiver back to the originator.
    const receiver = 'ach:09100001:123456789';
    const before = await balanceOf(receiver, 'USD');
    const returned = await send(returnFile(now));
    expect(returned.body.summary).toEqual({ accepted: 1, duplicate: 0, rejected: 0, conflict: 0 });
    const refund = await booked(returned.body.results[0]!.transactionId!);
    expect(refund.transaction.kind).toBe('REFUND');
    expect((refund.input as { originalTransactionId: string }).originalTransactionId).toBe(
      file.body.results[0]!.transactionId,
    );
    expect(refund.transaction.sourceDocument!.references).toMatchObject({
      ReturnReason: 'R03',
      OriginalTrace: '121042880000001',
    });
    expect(legs(refund)).toEqual([
      ['ach-originator:12104288:1234567890', '123456', 'USD'],
      [receiver, '-123456', 'USD'],
    ]);
    expect((await balanceOf(receiver, 'USD')) - before).toBe(-123456n);
  }, 180_000);

  it('books a signed Stripe charge in exact minor units, and takes it back on a fraud dispute', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const deliver = async (payload: string) => {
      const response = await fetch(`${pipeline.url}/v1/channels/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(payload, nowS) },
        body: payload,
      });
      return { status: response.status, body: (await response.json()) as ChannelFileResponse };
    };
    const paid = charge({
      id: 'ch_3E2e',
      amount: 1999,
      currency: 'usd',
      captured: true,
      customer: 'cus_E2e',
      createdS: nowS - 5,
    });
    const payment = await deliver(stripeEvent('evt_e2e_1', 'charge.succeeded', paid, nowS - 4));
    expect(payment.status).toBe(200);
    const id = payment.body.results[0]!.transactionId!;
    const trail = await booked(id);
    expect(trail.transaction.source).toBe('WEBHOOK');
    expect(trail.transaction.sourceDocument!.references).toMatchObject({ EventId: 'evt_e2e_1', ChargeId: 'ch_3E2e' });
    expect(legs(trail)).toEqual([
      ['stripe:cus_E2e', '-1999', 'USD'],
      ['stripe-balance:platform', '1999', 'USD'],
    ]);

    const chargeback = await deliver(
      stripeEvent('evt_e2e_2', 'charge.dispute.created', dispute('dp_e2e', 'ch_3E2e', 1999, 'fraudulent', nowS), nowS),
    );
    expect(chargeback.body.results.map((r) => [r.transactionId, r.status])).toEqual([[id, 'accepted']]);
    const reversed = await waitFor(`the chargeback to reverse ${id}`, async () => {
      const r = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      return r.status === 200 && r.body.ledgerEntries.some((e) => e.reversesEntryId !== null) ? r.body : undefined;
    });
    expect(reversed.labels.filter((l) => l.labelledBy === 'chargeback').map((l) => [l.label, l.note])).toEqual([
      ['FRAUD', 'stripe dispute fraudulent'],
    ]);
    // The reversal gives the payer back exactly what was booked: the payer's legs on this payment sum to zero.
    const payerNet = (t: AuditTrail) =>
      t.ledgerEntries
        .filter((e) => e.accountId === 'stripe:cus_E2e')
        .reduce((sum, e) => sum + BigInt(e.amount.amountMinor), 0n);
    expect(payerNet(reversed)).toBe(0n);
    // Negative control: the same sum over the trail before the chargeback is the payment itself.
    expect(payerNet(trail)).toBe(-1999n);
    expect(await balanceOf('stripe:cus_E2e', 'USD')).toBe(0n);
  }, 180_000);

  it('books an Adyen authorisation, its capture and a partial refund in exact minor units, and reverses the capture on a chargeback', async () => {
    const deliver = async (item: Record<string, unknown>) => {
      const response = await fetch(`${pipeline.url}/v1/channels/adyen`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: adyenBasicAuth() },
        body: adyenNotification([signedAdyenItem(item)]),
      });
      return { status: response.status, text: await response.text() };
    };
    const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
    const payment = { pspReference: 'PSP-E2E-AUTH', value: 1999, currency: 'USD' };
    const followUp = (eventCode: string, pspReference: string, value: number, secondsAgo: number) =>
      adyenItem({
        eventCode,
        pspReference,
        originalReference: payment.pspReference,
        value,
        currency: 'USD',
        eventDate: at(secondsAgo),
      });
    const payer = 'adyen:PSP-E2E-AUTH';
    const authId = adyenTransactionId(payment.pspReference, sha256Hasher);

    expect(await deliver(adyenItem({ ...payment, eventCode: 'AUTHORISATION', eventDate: at(10) }))).toEqual({
      status: 200,
      text: '[accepted]',
    });
    const authorised = await waitFor(`the authorisation hold of ${authId}`, async () => {
      const r = await compliance.get<AuditTrail>(`/v1/transactions/${authId}`);
      return r.status === 200 && (r.body.hold !== null || r.body.decision.outcome === 'DECLINE') ? r.body : undefined;
    });
    // An authorisation moves no money: it reserves the payment on a hold its capture settles.
    expect(authorised.transaction.source).toBe('WEBHOOK');
    expect(authorised.transaction.sourceDocument!.references).toMatchObject({
      PspReference: 'PSP-E2E-AUTH',
      EventCode: 'AUTHORISATION',
    });
    expect([authorised.hold?.kind, authorised.hold?.status, authorised.ledgerEntries]).toEqual([
      'AUTHORIZATION',
      'OPEN',
      [],
    ]);

    expect((await deliver(followUp('CAPTURE', 'PSP-E2E-CAP', 1999, 8))).status).toBe(200);
    const captureId = adyenTransactionId(payment.pspReference, sha256Hasher, 'capture', 'PSP-E2E-CAP');
    const captured = await booked(captureId);
    expect(legs(captured)).toEqual([
      [payer, '-1999', 'USD'],
      ['adyen-balance:VigilTestMerchant', '1999', 'USD'],
    ]);

    expect((await deliver(followUp('REFUND', 'PSP-E2E-REF', 500, 6))).status).toBe(200);
    const refund = await booked(adyenTransactionId(payment.pspReference, sha256Hasher, 'refund', 'PSP-E2E-REF'));
    expect(legs(refund)).toEqual([
      [payer, '500', 'USD'],
      ['adyen-balance:VigilTestMerchant', '-500', 'USD'],
    ]);
    expect(await balanceOf(payer, 'USD')).toBe(-1499n);

    const dispute = followUp('CHARGEBACK', 'PSP-E2E-DISPUTE', 1999, 0);
    expect(await deliver({ ...dispute, reason: 'Fraudulent Processing of Transactions' })).toEqual({
      status: 200,
      text: '[accepted]',
    });
    // The FRAUD verdict lands on the authorisation, whose captures the ledger reverses: what the refund (which names
    // the authorisation) did not already pay back, 1,499 of the 1,999.
    const reversed = await waitFor(`the chargeback to reverse ${captureId}`, async () => {
      const r = await compliance.get<AuditTrail>(`/v1/transactions/${captureId}`);
      return r.status === 200 && r.body.ledgerEntries.some((e) => e.reversesEntryId !== null) ? r.body : undefined;
    });
    expect(legs(reversed)).toEqual([
      [payer, '-1999', 'USD'],
      ['adyen-balance:VigilTestMerchant', '1999', 'USD'],
      [payer, '1499', 'USD'],
      ['adyen-balance:VigilTestMerchant', '-1499', 'USD'],
    ]);
    const labelled = (await compliance.get<AuditTrail>(`/v1/transactions/${authId}`)).body;
    expect(labelled.labels.map((l) => [l.label, l.labelledBy, l.note])).toEqual([
      ['FRAUD', 'chargeback', 'adyen CHARGEBACK Fraudulent Processing of Transactions'],
    ]);
    const payerNet = (t: AuditTrail) =>
      t.ledgerEntries.filter((e) => e.accountId === payer).reduce((sum, e) => sum + BigInt(e.amount.amountMinor), 0n);
    // The capture's own trail keeps the 500 the refund paid back; with the refund the payer nets 0.
    expect(payerNet(reversed)).toBe(-500n);
    // Negative control: the same sum over the capture's trail before the chargeback is the capture itself.
    expect(payerNet(captured)).toBe(-1999n);
    // Never more than was paid: 1,999 out, 500 refunded, 1,499 reversed.
    expect(await balanceOf(payer, 'USD')).toBe(0n);
  }, 180_000);
});
