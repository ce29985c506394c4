import express from 'express';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../../platform/auth.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import type { ChannelFileResponse } from '../../schemas/api.js';
import { Topics } from '../../schemas/topics.js';
import { startIngest } from '../main.js';
import { TEST_KEY } from '../testing/fixtures.js';
import { readAll, recordsContaining, testContext } from '../testing/harness.js';
import { csvHeader } from '../testing/csv.js';
import { editRecord, payrollFile, returnFile } from '../testing/nacha.js';
import { entityBomb, multiCurrencyPain001, pain001WithBadItems, pain001WrongNamespace } from '../testing/iso20022.js';

/**
 * `POST /v1/channels/iso20022` over HTTP on the real embedded log: status codes, problem bodies, file-level
 * idempotency, and no card number in any record, response or log line.
 */
const INGEST_KEY = 'ingest-key-0123456789abcdef';
const ANALYST_KEY = 'analyst-key-0123456789abcdef';
/** Half an hour before the harness clock (NOW_MS, 2026-11-24T09:00Z). */
const createdAt = '2026-11-24T08:30:00Z';

async function startServer(env: Record<string, string> = {}) {
  const logDir = await mkdtemp(join(tmpdir(), 'vigil-channels-log-'));
  const ctx = await testContext(await EmbeddedLog.open({ dir: logDir }));
  const stage = await startIngest({
    bus: ctx.bus,
    registry: ctx.registry,
    authenticator: new ApiKeyAuthenticator([
      { role: 'ingest', key: INGEST_KEY },
      { role: 'analyst', key: ANALYST_KEY },
    ]),
    logger: ctx.logger,
    metrics: ctx.metrics,
    clock: ctx.clock,
    dataDir: ctx.dataDir,
    env: {
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      // Two items per ingest call: a file of six goes through in three.
      VIGIL_INGEST_MAX_BATCH_ITEMS: '2',
      VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES: String(64 * 1024),
      ...env,
    },
  });
  const app = express();
  app.use(stage.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const responses: string[] = [];
  const send = async (
    body: string,
    key = INGEST_KEY,
    path = '/v1/channels/iso20022',
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': path.endsWith('iso20022') ? 'application/xml' : 'text/plain',
        ...headers,
      },
    });
    const text = await response.text();
    responses.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  const stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stage.close();
    await ctx.bus.close();
    await ctx.cleanup();
    await rm(logDir, { recursive: true, force: true });
  };
  return { ...ctx, send, responses, stop };
}

describe('POST /v1/channels/iso20022 (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    try {
      const records = [
        ...(await readAll(s.bus, Topics.transactionsRaw)),
        ...(await readAll(s.bus, Topics.deadLetters)),
      ];
      for (const pan of ['4111111111111111', '4111 1111 1111 1111']) {
        expect(recordsContaining(records, pan)).toEqual([]);
        expect(s.responses.filter((r) => r.includes(pan))).toEqual([]);
        expect(s.logger.lines.filter((l) => l.includes(pan))).toEqual([]);
      }
    } finally {
      await s.stop();
    }
  });

  it('answers 200 per item in file order, then recognises the same file as a duplicate', async () => {
    const xml = pain001WithBadItems({ createdAt });
    const first = await s.send(xml);
    expect(first.status).toBe(200);
    const body = first.body as unknown as ChannelFileResponse;
    expect(body.file).toMatchObject({ format: 'pain.001.001.09', messageId: 'PAIN-BAD-0001', status: 'new' });
    expect(body.summary).toEqual({ accepted: 2, duplicate: 0, rejected: 4, conflict: 0 });
    expect(body.results.map((r) => r.location.replace(/.*\//, ''))).toEqual([
      'CdtTrfTxInf[1]',
      'CdtTrfTxInf[2]',
      'CdtTrfTxInf[3]',
      'CdtTrfTxInf[4]',
      'CdtTrfTxInf[5]',
      'CdtTrfTxInf[6]',
    ]);
    const again = await s.send(xml);
    expect(again.status).toBe(200);
    expect((again.body as unknown as ChannelFileResponse).file.status).toBe('duplicate');
    expect((again.body as unknown as ChannelFileResponse).summary).toEqual({
      accepted: 0,
      duplicate: 2,
      rejected: 4,
      conflict: 0,
    });
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(2);
  }, 30_000);

  it('answers 409 CHANNEL_FILE_CONFLICT for the same message id with other content', async () => {
    expect((await s.send(multiCurrencyPain001({ createdAt }))).status).toBe(200);
    const changed = await s.send(multiCurrencyPain001({ createdAt }).replace('>0.01<', '>0.02<'));
    expect(changed.status).toBe(409);
    expect(changed.body['code']).toBe('CHANNEL_FILE_CONFLICT');
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(5);
  }, 30_000);

  it('refuses an unreadable file as a whole with 400 CHANNEL_FILE_REFUSED and its location', async () => {
    const bomb = await s.send(entityBomb());
    expect(bomb.status).toBe(400);
    expect(bomb.body).toMatchObject({
      code: 'CHANNEL_FILE_REFUSED',
      problems: [{ path: '', message: 'must not contain a DOCTYPE or entity declarations' }],
    });
    const wrong = await s.send(pain001WrongNamespace());
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'CHANNEL_FILE_REFUSED', problems: [{ path: '/Document/@xmlns' }] });
    // Read as it streams, a file is refused at its first problem: here the tag mismatch, in a supported namespace.
    const broken = await s.send('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><a></b></Document>');
    expect(broken.status).toBe(400);
    expect((broken.body['problems'] as Array<{ path: string }>)[0]!.path).toMatch(/^line 1, column \d+$/);
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(0);
  }, 30_000);

  it('answers 413 above the file size limit, 403 for another role', async () => {
    const padded = multiCurrencyPain001({ createdAt }).replace('<Nm>Debtor Ltd</Nm>', `<Nm>${'x'.repeat(70_000)}</Nm>`);
    expect((await s.send(padded)).status).toBe(413);
    expect((await s.send(multiCurrencyPain001({ createdAt }), ANALYST_KEY)).status).toBe(403);
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(0);
  }, 30_000);
});

describe('POST /v1/channels/nacha (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    await s.stop();
  });
  const nacha = (text: string, key?: string) => s.send(text, key, '/v1/channels/nacha');
  const fileTime = new Date(createdAt);

  it('accepts the good entries, rejects the prenote at its record, and knows the file when it comes again', async () => {
    const first = await nacha(payrollFile(fileTime));
    expect(first.status).toBe(200);
    const body = first.body as unknown as ChannelFileResponse;
    expect(body.file).toMatchObject({ format: 'nacha', messageId: '121042882-261124-0830-A', status: 'new' });
    expect(body.summary).toEqual({ accepted: 3, duplicate: 0, rejected: 1, conflict: 0 });
    expect(body.results.map((r) => [r.location, r.status])).toEqual([
      ['record 3', 'accepted'],
      ['record 5', 'accepted'],
      ['record 6', 'rejected'],
      ['record 9', 'accepted'],
    ]);
    expect(body.results[2]!.problems).toEqual([
      { path: 'record 6, positions 2-3 (Transaction Code)', message: 'a prenotification moves no money' },
    ]);
    const again = (await nacha(payrollFile(fileTime))).body as unknown as ChannelFileResponse;
    expect(again.file.status).toBe('duplicate');
    expect(again.summary).toEqual({ accepted: 0, duplicate: 3, rejected: 1, conflict: 0 });
    // The return names the credit of record 3 by its trace number.
    const returned = (await nacha(returnFile(fileTime))).body as unknown as ChannelFileResponse;
    expect(returned.results.map((r) => [r.location, r.status])).toEqual([['record 3', 'accepted']]);
    const records = await readAll(s.bus, Topics.transactionsRaw);
    expect(records).toHaveLength(4);
    expect(recordsContaining(records, body.results[0]!.transactionId!)).toHaveLength(2);
  }, 30_000);

  it('reports an entry validation refuses at the positions of the field, and takes the rest of the file', async () => {
    // An account number with a character no account id may hold; the controls do not cover account numbers.
    const file = editRecord(payrollFile(fileTime), 5, 13, '5550#0111');
    const body = (await nacha(file)).body as unknown as ChannelFileResponse;
    expect(body.results.map((r) => [r.location, r.status, r.problems?.map((p) => p.path)])).toEqual([
      ['record 3', 'accepted', undefined],
      ['record 5', 'rejected', ['record 5, positions 13-29 (DFI Account Number)']],
      ['record 6', 'rejected', ['record 6, positions 2-3 (Transaction Code)']],
      ['record 9', 'accepted', undefined],
    ]);
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(2);
  }, 30_000);

  it('refuses a broken file with 400 and the record numbers, and the same file id with other bytes with 409', async () => {
    const broken = await nacha(editRecord(payrollFile(fileTime), 5, 30, '0000004568'));
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({
      code: 'CHANNEL_FILE_REFUSED',
      problems: [
        { path: 'record 7, positions 21-32 (Total Debit Entry Dollar Amount)' },
        { path: 'record 11, positions 32-43 (Total Debit Entry Dollar Amount in File)' },
      ],
    });
    expect((await nacha(payrollFile(fileTime))).status).toBe(200);
    const changed = payrollFile(fileTime).replace('SALARY NOVEMBER', 'SALARY DECEMBER');
    const conflict = await nacha(changed);
    expect(conflict.status).toBe(409);
    expect(conflict.body['code']).toBe('CHANNEL_FILE_CONFLICT');
    expect((await nacha(payrollFile(fileTime), ANALYST_KEY)).status).toBe(403);
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(3);
  }, 30_000);
});

describe('POST /v1/channels/csv: a file of 30,000 rows, streamed (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let spoolDir: string;
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'vigil-channels-spool-'));
    s = await startServer({
      VIGIL_INGEST_MAX_BATCH_ITEMS: '500',
      VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES: String(16 * 1024 * 1024),
      VIGIL_INGEST_CHANNEL_SPOOL_DIR: spoolDir,
    });
  });
  afterEach(async () => {
    await s.stop();
    await rm(spoolDir, { recursive: true, force: true });
  });
  const ROWS = 30_000;
  /** Records on tx.raw, from the end offsets (one read of a topic this long is capped). */
  const onTheLog = async (): Promise<number> =>
    (await s.bus.endOffsets(Topics.transactionsRaw)).reduce((a, b) => a + b, 0);
  /** Every 1,000th row has three decimals in EUR: rejected at its line, the rest accepted. */
  const bigCsv = (): string => {
    const lines = [csvHeader];
    for (let i = 0; i < ROWS; i++)
      lines.push(
        `big-${i},sepa,transfer,${i % 1000 === 999 ? '10.001' : '12.34'},EUR,DE89370400440532013000,` +
          `FR1420041010050500013M02606,${createdAt},SEPA_CT,E2E-${i},Invoice ${i}`,
      );
    return `${lines.join('\n')}\n`;
  };
  const csv = (text: string) => s.send(text, INGEST_KEY, '/v1/channels/csv', { 'vigil-file-id': 'big-file-1' });

  it('answers every row in file order with exact counts, and leaves no spooled copy behind', async () => {
    const text = bigCsv();
    expect(text.length).toBeGreaterThan(4_000_000);
    const response = await csv(text);
    expect(response.status).toBe(200);
    const body = response.body as unknown as ChannelFileResponse;
    expect(body.file).toMatchObject({ format: 'csv', messageId: 'big-file-1', status: 'new' });
    expect(body.summary).toEqual({ accepted: 29_970, duplicate: 0, rejected: 30, conflict: 0 });
    expect(body.results).toHaveLength(ROWS);
    expect(body.results.map((r) => r.location)).toEqual(Array.from({ length: ROWS }, (_, i) => `line ${i + 2}`));
    expect(body.results.filter((r) => r.status === 'rejected').map((r) => r.location)).toEqual(
      Array.from({ length: 30 }, (_, k) => `line ${k * 1000 + 1001}`),
    );
    expect(await onTheLog()).toBe(29_970);
    expect(await readdir(spoolDir)).toEqual([]);
    const again = (await csv(text)).body as unknown as ChannelFileResponse;
    expect(again.file.status).toBe('duplicate');
    expect(again.summary).toEqual({ accepted: 0, duplicate: 29_970, rejected: 30, conflict: 0 });
  }, 240_000);

  it('refuses a file whose quoting breaks on its last line as a whole: not one row of it is taken', async () => {
    const broken = `${bigCsv()}big-x,sepa,transfer,1.00,EUR,"DE89370400440532013000\n`;
    const response = await csv(broken);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      code: 'CHANNEL_FILE_REFUSED',
      problems: [{ message: 'is not valid CSV (RFC 4180)' }],
    });
    expect(await onTheLog()).toBe(0);
    expect(await readdir(spoolDir)).toEqual([]);
    // Negative control: the same rows without the broken last line are taken.
    expect((await csv(bigCsv())).body['summary']).toEqual({
      accepted: 29_970,
      duplicate: 0,
      rejected: 30,
      conflict: 0,
    });
    expect(await onTheLog()).toBe(29_970);
  }, 240_000);
});
