import type { ManualClock } from '../../platform/clock.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import { Topics } from '../../schemas/topics.js';
import { HmacPanTokenizer, sha256Hasher } from '../adapters/crypto.js';
import { FileIdempotencyStore } from '../adapters/file-idempotency-store.js';
import { NOW_MS, TEST_KEY, TEST_PAN, TEST_PAN_2, cardRequest, transferRequest } from '../testing/fixtures.js';
import { readAll, recordsContaining, testContext } from '../testing/harness.js';
import { MemoryBus } from '../testing/memory-bus.js';
import { FileCustomerKeyStore } from '../../platform/file-customer-key-store.js';
import { PersonalDataCipher } from '../../platform/personal-data.js';
import { Secret } from '../../platform/config.js';
import { SealingPersonalDataProtector, devicePseudonymKey } from '../adapters/personal-data.js';
import type { PersonalDataProtector } from '../ports.js';
import { type IntakeItem, Ingestor } from './ingestor.js';
import { createIngestMetrics } from './metrics.js';

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
const parsed = (...bodies: unknown[]): IntakeItem[] => bodies.map((body) => ({ kind: 'parsed', body }));

async function setup() {
  const bus = new MemoryBus();
  const ctx = await testContext(bus);
  const metrics = createIngestMetrics(ctx.metrics);
  const build = async (clock: ManualClock = ctx.clock, personalData?: PersonalDataProtector) => {
    const store = await FileIdempotencyStore.open(ctx.dataDir, ctx.logger);
    const ingestor = new Ingestor({
      producer: bus.producer(),
      codec: ctx.transactions,
      deadLetters: await DeadLetterWriter.create(bus, ctx.registry, 'ingest', clock),
      store,
      tokenizer: new HmacPanTokenizer(TEST_KEY),
      hasher: sha256Hasher,
      ...(personalData === undefined ? {} : { personalData }),
      clock,
      limits,
      metrics,
      logger: ctx.logger,
    });
    return { ingestor, store };
  };
  const { ingestor, store } = await build();
  const rawRecords = () => readAll(bus, Topics.transactionsRaw);
  const dlqRecords = () => readAll(bus, Topics.deadLetters);
  return { ...ctx, bus, ingestor, store, build, metrics, rawRecords, dlqRecords };
}

type Setup = Awaited<ReturnType<typeof setup>>;

describe('Ingestor', () => {
  let t: Setup;
  beforeEach(async () => {
    t = await setup();
  });
  afterEach(async () => {
    await t.store.close();
    await t.cleanup();
  });

  afterEach(async () => {
    // Whatever a test did, no card number may sit on any topic or in any log line.
    for (const pan of [TEST_PAN, TEST_PAN_2]) {
      expect(recordsContaining([...(await t.rawRecords()), ...(await t.dlqRecords())], pan)).toEqual([]);
      expect(t.logger.lines.filter((line) => line.includes(pan))).toEqual([]);
    }
  });

  it('records who submitted each transaction, outside the fingerprint: another submitter of the same content is a duplicate', async () => {
    const [first] = await t.ingestor.accept(parsed(cardRequest()), 'API', 'ingest:0a1b2c3d');
    const [again] = await t.ingestor.accept(parsed(cardRequest()), 'BATCH', 'admin:99ffee00');
    expect([first!.status, again!.status]).toEqual(['accepted', 'duplicate']);
    const records = await t.rawRecords();
    expect(records).toHaveLength(1);
    const transaction = await t.transactions.decode(records[0]!.value);
    expect({ source: transaction.source, submittedBy: transaction.submittedBy }).toEqual({
      source: 'API',
      submittedBy: 'ingest:0a1b2c3d',
    });
    // Negative control: the recorded submitter is compared exactly, so the later duplicate's would be caught.
    expect(transaction.submittedBy).not.toBe('admin:99ffee00');
  });

  it('appends a valid transaction, keyed by payer account, with the card tokenised', async () => {
    const [result] = await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    const records = await t.rawRecords();
    expect(records).toHaveLength(1);
    expect(result).toEqual({
      transactionId: 'tx-0001',
      status: 'accepted',
      partition: records[0]!.partition,
      offset: 0,
    });
    expect(records[0]!.key).toBe('acct-payer-1');
    const transaction = await t.transactions.decode(records[0]!.value);
    expect(transaction).toMatchObject({
      transactionId: 'tx-0001',
      channel: 'CARD',
      kind: 'PURCHASE',
      amountMinor: 1234n,
      currency: 'EUR',
      customerId: 'acct-payer-1',
      card: { token: new HmacPanTokenizer(TEST_KEY).tokenize(TEST_PAN), bin: '411111', last4: '1111', present: true },
      source: 'API',
      eventTimeMs: NOW_MS - 60_000,
      receivedAtMs: NOW_MS,
    });
    expect(transaction.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(t.metrics.accepted.get({ source: 'API' })).toBe(1);
  });

  it('writes all accepted items of a batch with one send, results in input order', async () => {
    const results = await t.ingestor.accept(
      parsed(
        cardRequest({ transactionId: 'a' }),
        { transactionId: 'bad', channel: 'card' },
        transferRequest({ transactionId: 'b' }),
        cardRequest({ transactionId: 'c', card: { number: TEST_PAN_2 } }),
      ),
      'BATCH',
      null,
    );
    expect(results.map((r) => [r.transactionId, r.status])).toEqual([
      ['a', 'accepted'],
      ['bad', 'rejected'],
      ['b', 'accepted'],
      ['c', 'accepted'],
    ]);
    expect(t.bus.sends.filter((s) => s.topic === Topics.transactionsRaw)).toEqual([
      { topic: Topics.transactionsRaw, records: 3 },
    ]);
    expect(await t.rawRecords()).toHaveLength(3);
    expect(t.metrics.rejected.get({ source: 'BATCH' })).toBe(1);
  });

  it('answers a retry with the original position and writes nothing', async () => {
    const [first] = await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    t.clock.advance(10_000);
    const [retry] = await t.ingestor.accept(
      parsed(cardRequest({ card: { number: '4111 1111 1111 1111', present: true } })),
      'BATCH',
      null,
    );
    expect(retry).toEqual({ ...first, status: 'duplicate' });
    expect(await t.rawRecords()).toHaveLength(1);
    expect(t.metrics.duplicates.get({ source: 'BATCH' })).toBe(1);
  });

  it('refuses the same id with other content, and records the attempt on the dead-letter topic', async () => {
    await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    const [conflict] = await t.ingestor.accept(
      parsed(cardRequest({ amount: { value: '99.00', currency: 'EUR' } })),
      'API',
      null,
    );
    expect(conflict).toMatchObject({ transactionId: 'tx-0001', status: 'conflict' });
    expect(await t.rawRecords()).toHaveLength(1);
    const [letter] = await t.dlqRecords();
    const deadLetter = await t.deadLetters.decode(letter!.value);
    expect(deadLetter).toMatchObject({
      stage: 'ingest',
      errorCode: 'TRANSACTION_ID_CONFLICT',
      key: 'tx-0001',
      sourceTopic: null,
    });
    expect(deadLetter.problems[0]!.message).toMatch(
      /already accepted \(tx\.raw\/\d+@0\) with fingerprint [0-9a-f]{64}; this attempt has fingerprint [0-9a-f]{64}/,
    );
    expect(JSON.parse(deadLetter.originalBytes.toString('utf8'))).toMatchObject({
      amount: { value: '99.00' },
      card: { number: '[REDACTED]' },
    });
    expect(t.metrics.conflicts.get({ source: 'API' })).toBe(1);
    expect(t.logger.lines.some((l) => l.includes('reused with different content') && l.includes('tx-0001'))).toBe(true);
  });

  it('writes concurrent requests with the same id once', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.ingestor.accept(parsed(cardRequest()), 'API', null)),
    );
    expect(
      results
        .flat()
        .map((r) => r.status)
        .sort(),
    ).toEqual(['accepted', ...Array<string>(9).fill('duplicate')]);
    expect(await t.rawRecords()).toHaveLength(1);
  });

  it('judges repeats inside one batch against the first occurrence', async () => {
    const results = await t.ingestor.accept(
      parsed(cardRequest(), cardRequest(), cardRequest({ amount: { value: '1.00', currency: 'EUR' } })),
      'BATCH',
      null,
    );
    expect(results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'conflict']);
    expect(results[1]).toMatchObject({ partition: results[0]!.partition, offset: results[0]!.offset });
    expect(await t.rawRecords()).toHaveLength(1);
    expect(await t.dlqRecords()).toHaveLength(1);
  });

  it('remembers accepted ids across a restart', async () => {
    const [first] = await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    await t.ingestor.drain();
    await t.store.close();
    const restarted = await t.build();
    t.store = restarted.store;
    const [retry] = await restarted.ingestor.accept(parsed(cardRequest()), 'API', null);
    expect(retry).toEqual({ ...first, status: 'duplicate' });
  });

  it('dead-letters refused items with their problems and a redacted copy', async () => {
    const [result] = await t.ingestor.accept(
      parsed(cardRequest({ card: { number: TEST_PAN, cvv: '987' }, amount: { value: '1.234', currency: 'EUR' } })),
      'API',
      null,
    );
    expect(result).toEqual({
      transactionId: 'tx-0001',
      status: 'rejected',
      problems: [
        { path: '/card/cvv', message: expect.stringMatching(/must never be sent/) as unknown },
        { path: '/amount/value', message: 'at most 2 fraction digits for this currency' },
      ],
    });
    const [letter] = await t.dlqRecords();
    const deadLetter = await t.deadLetters.decode(letter!.value);
    expect(deadLetter).toMatchObject({ errorCode: 'VALIDATION_FAILED', key: 'tx-0001', problems: result!.problems });
    const copy = deadLetter.originalBytes.toString('utf8');
    expect(copy).not.toMatch(/cvv|987/);
    expect(JSON.parse(copy)).toMatchObject({
      transactionId: 'tx-0001',
      card: { number: '[REDACTED]' },
      amount: { value: '1.234' },
    });
    expect(t.metrics.deadLetters.get()).toBe(1);
  });

  it('dead-letters unparseable items without their bytes', async () => {
    const results = await t.ingestor.accept(
      [{ kind: 'unparseable', problems: [{ path: '', message: 'line 1 is not valid JSON' }] }],
      'BATCH',
      null,
    );
    expect(results).toEqual([
      { transactionId: null, status: 'rejected', problems: [{ path: '', message: 'line 1 is not valid JSON' }] },
    ]);
    const deadLetter = await t.deadLetters.decode((await t.dlqRecords())[0]!.value);
    expect(deadLetter).toMatchObject({ errorCode: 'MALFORMED_JSON', originalBytes: Buffer.alloc(0) });
  });

  it('acknowledges nothing when the log is down, and accepts the retry once it is back', async () => {
    t.bus.failNextSends(1);
    await expect(t.ingestor.accept(parsed(cardRequest()), 'API', null)).rejects.toMatchObject({ retriable: true });
    expect(t.store.size()).toBe(0);
    const [retry] = await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    expect(retry!.status).toBe('accepted');
  });

  it('stops taking work when drained', async () => {
    await t.ingestor.drain();
    await expect(t.ingestor.accept(parsed(cardRequest()), 'API', null)).rejects.toMatchObject({
      code: 'INGEST_CLOSED',
      retriable: true,
    });
  });

  it('the PAN check catches a planted card number (the invariant check can fail)', async () => {
    await t.ingestor.accept(parsed(cardRequest()), 'API', null);
    const [real] = await t.rawRecords();
    const planted = { ...real!, value: Buffer.concat([real!.value, Buffer.from(TEST_PAN)]) };
    expect(recordsContaining([real!, planted], TEST_PAN)).toEqual([planted]);
    expect(recordsContaining([{ ...real!, headers: { note: `pan ${TEST_PAN}` } }], TEST_PAN)).toHaveLength(1);
  });

  it('seals and minimises personal fields before the log sees them; the fingerprint, so duplicates, are as before', async () => {
    const sealed = await setup();
    const keys = FileCustomerKeyStore.open(`${sealed.dataDir}/customer-keys`, { rotateAfterMs: 0 });
    const protector = new SealingPersonalDataProtector(keys, devicePseudonymKey(new Secret(TEST_KEY)));
    const sealing = await sealed.build(sealed.clock, protector);
    try {
      // The control: without a protector the values are written as sent.
      await t.ingestor.accept(parsed(cardRequest()), 'API', null);
      const [plain] = await Promise.all((await t.rawRecords()).map((r) => t.transactions.decode(r.value)));
      expect(plain).toMatchObject({ deviceId: 'dev-1', ipAddress: '192.0.2.1', description: 'groceries' });

      const results = await sealing.ingestor.accept(
        parsed(cardRequest(), transferRequest(), cardRequest()),
        'API',
        null,
      );
      expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'duplicate']);
      const records = await sealed.rawRecords();
      for (const value of ['dev-1', '192.0.2.1', 'groceries', 'invoice 42'])
        expect(recordsContaining(records, value)).toEqual([]);
      const decoded = await Promise.all(records.map((r) => sealed.transactions.decode(r.value)));
      const card = decoded.find((x) => x.transactionId === 'tx-0001')!;
      const transfer = decoded.find((x) => x.transactionId === 'tx-sepa-1')!;
      expect(card.fingerprint).toBe(plain!.fingerprint); // over the content as sent
      expect(card).toMatchObject({ latitude: 48.85, longitude: 2.35, deviceId: protector.devicePseudonym('dev-1') });
      expect(card.deviceId).toMatch(/^dev_[A-Za-z0-9_-]{22}$/);
      const cipher = new PersonalDataCipher(keys);
      expect(await cipher.openDeep([card.ipAddress, card.description, transfer.bankTransfer?.remittanceInfo])).toEqual([
        '192.0.2.1',
        'groceries',
        'invoice 42',
      ]);
      // Each under its own customer's key: the payer account when the request names no customer.
      expect((await keys.status('acct-payer-1')).heldVersions).toEqual([1]);
      expect((await keys.status('cust-9')).heldVersions).toEqual([1]);
    } finally {
      await sealing.store.close();
      await sealed.store.close();
      await sealed.cleanup();
    }
  });
});
