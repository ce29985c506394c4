import express from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ApiKeyAuthenticator } from '../../platform/auth.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { waitFor } from '../../platform/embedded-log/test-helpers.js';
import { createCodec } from '../../schemas/codec.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { type IngestStage, startIngest } from '../main.js';
import { NOW_MS, TEST_KEY, TEST_PAN, TEST_PAN_2, cardRequest, transferRequest } from '../testing/fixtures.js';
import { readAll, recordsContaining, testContext } from '../testing/harness.js';

/**
 * The ingest routes over HTTP on 127.0.0.1, writing to the real embedded log. Checks status codes, problem
 * bodies, what lands on tx.raw / tx.dlq, and that no card number appears in any record, response or log line.
 */
const INGEST_KEY = 'ingest-key-0123456789abcdef';
const ANALYST_KEY = 'analyst-key-0123456789abcdef';

async function startServer() {
  const logDir = await mkdtemp(join(tmpdir(), 'vigil-ingest-log-'));
  const ctx = await testContext(await EmbeddedLog.open({ dir: logDir }));
  const stage: IngestStage = await startIngest({
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
    env: { VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_INGEST_MAX_BODY_BYTES: '4096', VIGIL_INGEST_MAX_BATCH_ITEMS: '5' },
  });
  const app = express();
  app.use(stage.router);
  app.get('/other', (_req, res) => void res.send('other router still reachable'));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const responses: string[] = [];
  const call = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json', ...headers },
    });
    const text = await response.text();
    responses.push(text);
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
    };
  };
  const post = (path: string, value: unknown, headers?: Record<string, string>) =>
    call(path, JSON.stringify(value), headers);
  const stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stage.close();
    await ctx.bus.close();
    await ctx.cleanup();
    await rm(logDir, { recursive: true, force: true });
  };
  return { ...ctx, stage, base, call, post, responses, stop };
}

describe('ingest HTTP routes (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    try {
      // No card number anywhere: not in any record's bytes, key or headers, any response, any log line.
      const records = [
        ...(await readAll(s.bus, Topics.transactionsRaw)),
        ...(await readAll(s.bus, Topics.deadLetters)),
      ];
      for (const pan of [TEST_PAN, TEST_PAN_2]) {
        expect(recordsContaining(records, pan)).toEqual([]);
        expect(s.responses.filter((r) => r.includes(pan))).toEqual([]);
        expect(s.logger.lines.filter((l) => l.includes(pan))).toEqual([]);
      }
    } finally {
      await s.stop();
    }
  });

  it('202: the transaction is on tx.raw, with a token instead of the card number', async () => {
    const response = await s.post('/v1/transactions', cardRequest());
    expect(response.status).toBe(202);
    const records = await readAll(s.bus, Topics.transactionsRaw);
    expect(records).toHaveLength(1);
    expect(response.body).toEqual({
      transactionId: 'tx-0001',
      status: 'accepted',
      partition: records[0]!.partition,
      offset: records[0]!.offset,
    });
    const transaction = await s.transactions.decode(records[0]!.value);
    expect(transaction).toMatchObject({
      transactionId: 'tx-0001',
      source: 'API',
      amountMinor: 1234n,
      card: { bin: '411111', last4: '1111' },
      receivedAtMs: NOW_MS,
    });
    expect(transaction.card!.token).toMatch(/^tok_/);
    // Who submitted it: the key's principal id (role + digest prefix), never the key.
    const principal = await new ApiKeyAuthenticator([{ role: 'ingest', key: INGEST_KEY }]).authenticate(
      `Bearer ${INGEST_KEY}`,
    );
    expect(transaction.submittedBy).toBe(principal.id);
    expect(transaction.submittedBy).toMatch(/^ingest:[0-9a-f]{8}$/);
    // Negative control: no part of the key reaches the record (the scan would catch a key recorded as-is).
    expect(recordsContaining(records, INGEST_KEY.slice(0, 12))).toEqual([]);
    const planted = { ...records[0]!, value: Buffer.concat([records[0]!.value, Buffer.from(INGEST_KEY)]) };
    expect(recordsContaining([planted], INGEST_KEY.slice(0, 12))).toHaveLength(1);
    expect(s.metrics.render()).toMatch(/vigil_ingest_requests_total\{route="single",status="202"\} 1/);
    expect(s.metrics.render()).toMatch(/vigil_ingest_log_append_seconds_count 1/);
  });

  it('POST /v1/decisions: 202 with the decision URL at the deadline; a waiting repeat gets the decision once it is on tx.scored', async () => {
    const first = await s.post('/v1/decisions', cardRequest(), { 'vigil-decision-deadline-ms': '50' });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ transactionId: 'tx-0001', status: 'pending', decisionUrl: '/v1/decisions/tx-0001' });
    const [raw] = await readAll(s.bus, Topics.transactionsRaw);
    expect(raw).toBeDefined();

    const repeat = s.post('/v1/decisions', cardRequest(), { 'vigil-decision-deadline-ms': '30000' });
    // The repeat is registered (a duplicate: same id, same content) before the decision is produced.
    await waitFor(() => s.metrics.render().includes('vigil_ingest_decision_waiters 1'), 'the repeat to wait');
    const scoredCodec = await createCodec<ScoredTransaction>(s.registry, Topics.transactionsScored);
    const transaction = await s.transactions.decode(raw!.value);
    const scored: ScoredTransaction = {
      transaction,
      decision: 'REVIEW',
      score: 0.75,
      risk: 0.75,
      reasons: [{ code: 'R_NEW_DEVICE', source: 'RULE', description: 'first time on this device', weight: 0.5 }],
      rulesFired: ['R_NEW_DEVICE'],
      features: { card_count_1h: 1 },
      featureValues: null,
      reportingCurrency: 'EUR',
      unconvertedCurrency: null,
      modelVersion: 'model-test',
      rulesVersion: 'rules-test',
      scoredAtMs: NOW_MS + 5,
    };
    await s.bus
      .producer()
      .send(Topics.transactionsScored, [{ key: transaction.payerAccountId, value: scoredCodec.encode(scored) }]);
    const answer = await repeat;
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      transactionId: 'tx-0001',
      decision: 'REVIEW',
      score: 0.75,
      risk: 'elevated',
      reasons: [{ code: 'R_NEW_DEVICE', source: 'RULE', description: 'first time on this device' }],
      modelVersion: 'model-test',
      rulesVersion: 'rules-test',
      decidedAt: new Date(NOW_MS + 5).toISOString(),
      ledger: { status: 'pending' },
    });
  });

  it('POST /v1/decisions: a bad deadline header is refused with its location; invalid content as on /v1/transactions', async () => {
    const bad = await s.post('/v1/decisions', cardRequest(), { 'vigil-decision-deadline-ms': 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ problems: [{ path: '/headers/vigil-decision-deadline-ms' }] });
    const invalid = await s.post('/v1/decisions', { ...cardRequest(), amount: { value: '1.234', currency: 'EUR' } });
    expect(invalid.status).toBe(400);
    expect(s.metrics.render()).toContain('vigil_ingest_decision_waiters 0');
  });

  it('batch (JSON array): per-item results in input order, valid items accepted despite bad ones', async () => {
    const response = await s.post('/v1/transactions/batch', [
      cardRequest({ transactionId: 'b-1' }),
      cardRequest({ transactionId: 'b-2', amount: { value: '1.234', currency: 'EUR' } }),
      transferRequest({ transactionId: 'b-3' }),
      cardRequest({ transactionId: 'b-1' }),
    ]);
    expect(response.status).toBe(200);
    const results = response.body!['results'] as Array<Record<string, unknown>>;
    expect(results.map((r) => [r['transactionId'], r['status']])).toEqual([
      ['b-1', 'accepted'],
      ['b-2', 'rejected'],
      ['b-3', 'accepted'],
      ['b-1', 'duplicate'],
    ]);
    expect(results[1]!['problems']).toEqual([
      { path: '/amount/value', message: 'at most 2 fraction digits for this currency' },
    ]);
    expect(response.body!['summary']).toEqual({ accepted: 2, duplicate: 1, rejected: 1, conflict: 0 });
    const raw = await readAll(s.bus, Topics.transactionsRaw);
    expect(raw).toHaveLength(2);
    expect((await s.transactions.decode(raw[0]!.value)).source).toBe('BATCH');
    expect(await readAll(s.bus, Topics.deadLetters)).toHaveLength(1);
  });

  it('batch (NDJSON): one item per line, an unparseable line is rejected on its own', async () => {
    const lines = [
      JSON.stringify(cardRequest({ transactionId: 'n-1' })),
      `{"transactionId":"n-2","card":{"number":"${TEST_PAN}"`,
      JSON.stringify(transferRequest({ transactionId: 'n-3' })),
    ];
    const response = await s.call('/v1/transactions/batch', lines.join('\n') + '\n', {
      'content-type': 'application/x-ndjson',
    });
    expect(response.status).toBe(200);
    expect((response.body!['results'] as Array<Record<string, unknown>>).map((r) => r['status'])).toEqual([
      'accepted',
      'rejected',
      'accepted',
    ]);
    expect(response.body!['results']).toContainEqual({
      transactionId: null,
      status: 'rejected',
      problems: [{ path: '', message: expect.stringMatching(/^line 2 is not valid JSON/) as unknown }],
    });
  });

  it('400: every problem with its path, as RFC 7807 problem details', async () => {
    const response = await s.post(
      '/v1/transactions',
      cardRequest({
        amount: { value: '1e5', currency: 'EUR' },
        card: { number: '4111111111111112', cvv: '123' },
        payer: {},
        color: 'red',
      }),
    );
    expect(response.status).toBe(400);
    expect(response.type).toMatch(/application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((response.body!['problems'] as Array<{ path: string }>).map((p) => p.path)).toEqual([
      '/card/cvv',
      '/color',
      '/amount/value',
      '/payer/accountId',
      '/card/number',
    ]);
    const letters = await readAll(s.bus, Topics.deadLetters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers['vigil.dlq.error-code']).toBe('VALIDATION_FAILED');
  });

  it('400: malformed JSON, without quoting the body', async () => {
    const response = await s.call('/v1/transactions', `{"card":{"number":${TEST_PAN}x}}`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'MALFORMED_JSON' });
    const batch = await s.call('/v1/transactions/batch', '{"not":"an array"}');
    expect(batch.status).toBe(400);
    expect(batch.body).toMatchObject({ code: 'MALFORMED_JSON' });
  });

  it('413: body over the byte limit, batch over the item limit', async () => {
    const big = await s.post('/v1/transactions', cardRequest({ description: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'BODY_TOO_LARGE' });
    const many = await s.post(
      '/v1/transactions/batch',
      Array.from({ length: 6 }, (_, i) => transferRequest({ transactionId: `m-${i}` })),
    );
    expect(many.status).toBe(413);
    expect(many.body).toMatchObject({ code: 'BATCH_TOO_LARGE' });
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(0);
  });

  it('401 without a key, 403 with an analyst key', async () => {
    const anonymous = await fetch(`${s.base}/v1/transactions`, {
      method: 'POST',
      body: JSON.stringify(cardRequest()),
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const analyst = await s.post('/v1/transactions/batch', [cardRequest()], { authorization: `Bearer ${ANALYST_KEY}` });
    expect(analyst.status).toBe(403);
    expect(analyst.body).toMatchObject({ code: 'FORBIDDEN' });
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(0);
  });

  it('a retry gets 200 with the original result and writes nothing', async () => {
    const first = await s.post('/v1/transactions', cardRequest());
    const retry = await s.post('/v1/transactions', cardRequest());
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ ...first.body, status: 'duplicate' });
    expect(await readAll(s.bus, Topics.transactionsRaw)).toHaveLength(1);
  });

  it('409 for the same id with other content, recorded on the dead-letter topic', async () => {
    await s.post('/v1/transactions', cardRequest());
    const conflict = await s.post('/v1/transactions', cardRequest({ card: { number: TEST_PAN_2 } }));
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: 'TRANSACTION_ID_CONFLICT', status: 409 });
    const letters = await readAll(s.bus, Topics.deadLetters);
    expect(letters).toHaveLength(1);
    const letter = await s.deadLetters.decode(letters[0]!.value);
    expect(letter).toMatchObject({ errorCode: 'TRANSACTION_ID_CONFLICT', key: 'tx-0001' });
    expect(letter.originalBytes.toString()).toContain('[REDACTED]');
    expect(s.metrics.render()).toMatch(/vigil_ingest_conflicts_total\{source="API"\} 1/);
  });

  it('leaves other routes alone and offers the in-process entry', async () => {
    expect(await (await fetch(`${s.base}/other`)).text()).toBe('other router still reachable');
    const [result] = await s.stage.accept([cardRequest({ transactionId: 'sim-1' })], 'SIMULATOR', 'simulator');
    expect(result).toMatchObject({ status: 'accepted' });
    const raw = await readAll(s.bus, Topics.transactionsRaw);
    expect(await s.transactions.decode(raw[0]!.value)).toMatchObject({ source: 'SIMULATOR', submittedBy: 'simulator' });
    expect(s.stage.isReady()).toBe(true);
  });
});
