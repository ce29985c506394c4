import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { AccountBalance, AuditTrail, ChannelFileResponse, LedgerIntegrity, SyncDecision } from '../schemas/api.js';
import { transfersCsv } from '../ingest/testing/csv.js';
import { accounts, camt054, multiCurrencyPain001, pacs004, pain001WithBadItems } from '../ingest/testing/iso20022.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, ledgerInvariantViolations, waitFor } from './testing.js';

/**
 * ISO 20022 files end to end on the embedded default: a multi-currency pain.001, a camt.054 with a batched entry and
 * a pain.001 with bad items go through `POST /v1/channels/iso20022`; every good item is scored, booked in exact
 * minor units and audited with its source document, every bad one reported at its element path; a file sent again
 * is a duplicate; a pacs.004 books the return of a transfer as a refund of it. A CSV upload goes the same way.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
};

describe('ISO 20022 channel (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let ingest: ReturnType<typeof apiClient>;
  let compliance: ReturnType<typeof apiClient>;
  let analyst: ReturnType<typeof apiClient>;
  // Ingest refuses event times older than 30 days: the files are dated now.
  const createdAt = new Date().toISOString();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-channels-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
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

  const send = (xml: string) => ingest.post<ChannelFileResponse>('/v1/channels/iso20022', xml, 'application/xml');

  /** The audit trail once the ledger has settled the decision: booked, held for a verdict, or declined. */
  const settled = (id: string): Promise<AuditTrail> =>
    waitFor(`the decision on ${id} and its ledger state`, async () => {
      const decision = await ingest.get<SyncDecision>(`/v1/decisions/${id}`);
      if (decision.status !== 200) return undefined;
      const trail = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      if (trail.status !== 200) return undefined;
      const booked = trail.body.ledgerEntries.length > 0;
      const outcome = trail.body.decision.outcome;
      if (outcome === 'APPROVE' && !booked) return undefined;
      if (outcome === 'REVIEW' && trail.body.hold === null) return undefined;
      return trail.body;
    });

  /** Books a transfer held for review with a GENUINE verdict, so every good item ends booked. */
  const booked = async (id: string): Promise<AuditTrail> => {
    const trail = await settled(id);
    if (trail.decision.outcome !== 'REVIEW') return trail;
    expect((await analyst.post('/v1/labels', { transactionId: id, label: 'genuine' })).status).toBeLessThan(300);
    return waitFor(`the verdict on ${id} to book its hold`, async () => {
      const r = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      return r.status === 200 && r.body.ledgerEntries.length > 0 ? r.body : undefined;
    });
  };

  it('scores, books and audits every good item, reports every bad one at its element path, and knows a resent file', async () => {
    const pain = await send(multiCurrencyPain001({ createdAt }));
    expect(pain.status).toBe(200);
    expect(pain.body.summary).toEqual({ accepted: 5, duplicate: 0, rejected: 0, conflict: 0 });
    const camt = await send(camt054({ createdAt }));
    expect(camt.status).toBe(200);
    expect(camt.body.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'rejected']);
    expect(camt.body.results[3]!.problems).toEqual([
      {
        path: '/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[3]/Sts',
        message: 'only booked entries (BOOK) are ingested',
      },
    ]);
    const bad = await send(pain001WithBadItems({ createdAt }));
    expect(bad.status).toBe(200);
    expect(bad.body.results.map((r) => [r.status, r.problems?.map((p) => p.path)])).toEqual([
      ['accepted', undefined],
      ['rejected', ['/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]/Amt/InstdAmt']],
      ['rejected', ['/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[3]/Amt/InstdAmt']],
      ['rejected', ['/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[4]/Amt/InstdAmt/@Ccy']],
      ['rejected', ['/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[5]/PmtId/EndToEndId']],
      ['accepted', undefined],
    ]);

    const accepted = [...pain.body.results, ...camt.body.results, ...bad.body.results].filter(
      (r) => r.status === 'accepted',
    );
    expect(accepted).toHaveLength(10);
    const trails: AuditTrail[] = [];
    for (const result of accepted) trails.push(await booked(result.transactionId!));

    // Audited with the source document: the file's own ids, exactly as sent.
    const first = trails[0]!;
    expect(first.transaction.source).toBe('FILE');
    expect(first.transaction.sourceDocument).toEqual({
      format: 'pain.001.001.09',
      location: '/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[1]',
      references: pain.body.results[0]!.references,
    });
    expect(first.transaction.sourceDocument!.references).toMatchObject({
      MsgId: 'PAIN-000123',
      PmtInfId: 'PMT-EUR-0001',
      InstrId: 'INSTR-0001',
      EndToEndId: 'E2E-0001',
      UETR: 'eb6305c9-1f7f-49de-aed0-16487c27b42d',
    });
    // Booked in exact minor units: each item's payer leg is its amount, to the unit, in its own currency.
    // Booked in exact minor units: each item's payer leg is its amount, to the unit, in its own currency — unless
    // scoring declined it (the model declines the largest of these transfers), which books nothing.
    const expectedPayerLegs = [
      '-123456 EUR',
      '-1 EUR',
      '-25000000 USD',
      '-150000 JPY',
      '-12345 BHD',
      '-10000 EUR',
      '-20000 EUR',
      '-7550 EUR',
      '-1000 EUR',
      '-2000 EUR',
    ];
    const payerLegs = trails.map((trail) => {
      if (trail.decision.outcome === 'DECLINE')
        return trail.ledgerEntries.length === 0 ? 'declined' : 'declined, booked';
      const leg = trail.ledgerEntries.find((e) => e.accountId === trail.transaction.payerAccountId);
      return leg === undefined ? 'not booked' : `${leg.amount.amountMinor} ${leg.amount.currency}`;
    });
    expect(payerLegs).toEqual(
      expectedPayerLegs.map((leg, i) => (trails[i]!.decision.outcome === 'DECLINE' ? 'declined' : leg)),
    );

    // The same file again: recognised as a duplicate, nothing decided twice.
    const again = await send(multiCurrencyPain001({ createdAt }));
    expect(again.status).toBe(200);
    expect(again.body.file.status).toBe('duplicate');
    expect(again.body.summary).toEqual({ accepted: 0, duplicate: 5, rejected: 0, conflict: 0 });
    // Other content under the same message id: a conflict, not a second file.
    const changed = await send(multiCurrencyPain001({ createdAt }).replace('>0.01<', '>0.02<'));
    expect(changed.status).toBe(409);

    const integrity = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
    const outcomeIds = (outcome: string) =>
      new Set(trails.filter((t) => t.decision.outcome === outcome).map((t) => t.transactionId));
    const reviewed = outcomeIds('REVIEW');
    expect(
      ledgerInvariantViolations(integrity, trails, {
        transactions: 10,
        declined: outcomeIds('DECLINE'),
        reviewed,
      }),
    ).toEqual([]);
    // Negative control: the same check fails when told of an eleventh transaction.
    expect(
      ledgerInvariantViolations(integrity, trails, { transactions: 11, declined: outcomeIds('DECLINE'), reviewed }),
    ).not.toEqual([]);
  }, 180_000);

  it('books a pacs.004 return as a refund of the transfer it names, back from creditor to debtor', async () => {
    // Sent by the first test already (then a duplicate); its transfer must be booked before the balance is read.
    const [original] = (await send(multiCurrencyPain001({ createdAt }))).body.results;
    expect((await booked(original!.transactionId!)).ledgerEntries).toHaveLength(2);
    const before = await balanceOf(accounts.fr, 'EUR');
    const returned = await send(pacs004({ createdAt }));
    expect(returned.status).toBe(200);
    expect(returned.body.summary).toEqual({ accepted: 1, duplicate: 0, rejected: 0, conflict: 0 });
    const refund = await booked(returned.body.results[0]!.transactionId!);
    expect(refund.transaction.kind).toBe('REFUND');
    expect((refund.input as { originalTransactionId: string }).originalTransactionId).toBe(original!.transactionId);
    expect(refund.transaction.sourceDocument!.references).toMatchObject({
      RtrId: 'RTR-0001',
      OrgnlMsgId: 'PAIN-000123',
      OrgnlInstrId: 'INSTR-0001',
      RtrRsn: 'AC04',
    });
    expect(refund.ledgerEntries.map((e) => [e.accountId, e.amount.amountMinor, e.amount.currency])).toEqual([
      [accounts.de, '100000', 'EUR'],
      [accounts.fr, '-100000', 'EUR'],
    ]);
    // The creditor's balance falls by exactly the returned amount.
    expect((await balanceOf(accounts.fr, 'EUR')) - before).toBe(-100000n);
  }, 120_000);

  it('takes a CSV upload the same way: rows scored, booked and audited, bad rows reported by line and column', async () => {
    const csv = transfersCsv(createdAt, 'e2e-csv');
    const upload = (fileId: string, body: string) =>
      fetch(`${pipeline.url}/v1/channels/csv`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'text/csv', 'vigil-file-id': fileId },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as ChannelFileResponse }));
    const first = await upload('upload-000001', csv);
    expect(first.status).toBe(200);
    expect(first.body.results.map((r) => [r.transactionId, r.status, r.problems?.map((p) => p.path)])).toEqual([
      ['e2e-csv-0001', 'accepted', undefined],
      ['e2e-csv-0002', 'rejected', ['line 3, column 4 (amount)']],
      ['e2e-csv-0003', 'accepted', undefined],
      [null, 'rejected', ['line 5']],
    ]);
    const trail = await booked('e2e-csv-0001');
    expect(trail.transaction.sourceDocument).toEqual({
      format: 'csv',
      references: { FileId: 'upload-000001', Line: '2' },
      location: 'line 2',
    });
    expect(trail.transaction.description).toBeNull();
    expect(trail.ledgerEntries.map((e) => [e.accountId, e.amount.amountMinor, e.amount.currency])).toEqual([
      [accounts.de, '-123456', 'EUR'],
      [accounts.fr, '123456', 'EUR'],
    ]);
    expect((trail.input as { bankTransfer: { remittanceInfo: string } }).bankTransfer.remittanceInfo).toBe(
      'Invoice 1, card 411111******1111',
    );
    const again = await upload('upload-000001', csv);
    expect(again.body.file.status).toBe('duplicate');
    expect(again.body.summary).toEqual({ accepted: 0, duplicate: 2, rejected: 2, conflict: 0 });
    expect((await upload('upload-000001', csv.replace('1234.56', '1234.57'))).status).toBe(409);
  }, 120_000);

  const balanceOf = async (account: string, currency: string): Promise<bigint> => {
    const balance = (await analyst.get<AccountBalance>(`/v1/accounts/${account}/balance`)).body;
    return BigInt(balance.balances.find((b) => b.currency === currency)?.posted.amountMinor ?? '0');
  };
});
