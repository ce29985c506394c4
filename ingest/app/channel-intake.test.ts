import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { FileChannelFileStore } from '../adapters/file-channel-file-store.js';
import { HmacPanTokenizer, sha256Hasher } from '../adapters/crypto.js';
import { FileIdempotencyStore } from '../adapters/file-idempotency-store.js';
import type { ChannelDocument, ChannelItem } from '../domain/channels/channel.js';
import { CsvLayout } from '../domain/channels/csv/csv.js';
import { csvHeader } from '../testing/csv.js';
import { parseIso20022 } from '../domain/channels/iso20022/messages.js';
import { TEST_KEY } from '../testing/fixtures.js';
import { readAll, recordsContaining, testContext } from '../testing/harness.js';
import { multiCurrencyPain001, pacs004, pain001WithBadItems } from '../testing/iso20022.js';
import { MemoryBus } from '../testing/memory-bus.js';
import { ChannelFileConflictError, ChannelIntake } from './channel-intake.js';
import { Ingestor } from './ingestor.js';
import { createIngestMetrics } from './metrics.js';

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
/** Half an hour before the harness clock (NOW_MS, 2026-11-24T09:00Z). */
const createdAt = '2026-11-24T08:30:00Z';

function read(xml: string): { document: ChannelDocument; sha256: string } {
  const parsed = parseIso20022(Buffer.from(xml, 'utf8'), { hasher: sha256Hasher });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return { document: parsed.document, sha256: sha256Hasher.sha256Hex(xml) };
}

async function setup(itemsPerCall = 100) {
  const bus = new MemoryBus();
  const ctx = await testContext(bus);
  const store = await FileIdempotencyStore.open(ctx.dataDir, ctx.logger);
  const files = await FileChannelFileStore.open(ctx.dataDir, ctx.logger);
  const ingestor = new Ingestor({
    producer: bus.producer(),
    codec: ctx.transactions,
    deadLetters: await DeadLetterWriter.create(bus, ctx.registry, 'ingest', ctx.clock),
    store,
    tokenizer: new HmacPanTokenizer(TEST_KEY),
    hasher: sha256Hasher,
    clock: ctx.clock,
    limits,
    metrics: createIngestMetrics(ctx.metrics),
    logger: ctx.logger,
  });
  const intake = new ChannelIntake({ ingestor, files, logger: ctx.logger, itemsPerCall });
  const transactions = async (): Promise<Transaction[]> =>
    Promise.all((await readAll(bus, Topics.transactionsRaw)).map((r) => ctx.transactions.decode(r.value)));
  const close = async (): Promise<void> => {
    await store.close();
    await files.close();
    await ctx.cleanup();
  };
  return { ...ctx, ingestor, intake, transactions, close };
}

type Setup = Awaited<ReturnType<typeof setup>>;

describe('ChannelIntake', () => {
  let t: Setup;
  beforeEach(async () => {
    t = await setup();
  });
  afterEach(async () => t.close());

  it('puts every item of a multi-currency pain.001 on the log with exact minor units and its source document', async () => {
    const { document, sha256 } = read(multiCurrencyPain001({ createdAt }));
    const response = await t.intake.receive(document, sha256, 'ingest:0a1b2c3d');
    expect(response.file).toEqual({ format: 'pain.001.001.09', messageId: 'PAIN-000123', sha256, status: 'new' });
    expect(response.summary).toEqual({ accepted: 5, duplicate: 0, rejected: 0, conflict: 0 });
    // In file order (the log orders by payer partition).
    const byId = new Map((await t.transactions()).map((tx) => [tx.transactionId, tx]));
    const logged = response.results.map((r) => byId.get(r.transactionId!)!);
    expect(byId.size).toBe(5);
    expect(logged.map((tx) => [tx.amountMinor, tx.currency])).toEqual([
      [123456n, 'EUR'],
      [1n, 'EUR'],
      [25000000n, 'USD'],
      [150000n, 'JPY'],
      [12345n, 'BHD'],
    ]);
    expect(logged.map((tx) => tx.source)).toEqual(['FILE', 'FILE', 'FILE', 'FILE', 'FILE']);
    expect(logged[0]!.sourceDocument).toEqual(document.items[0]!.sourceDocument);
    // The card number in a remittance line is masked before anything is written.
    expect(logged[1]!.bankTransfer?.remittanceInfo).toBe('card 411111******1111 refund');
    expect(recordsContaining(await readAll(t.bus, Topics.transactionsRaw), '4111 1111 1111 1111')).toEqual([]);
  });

  it('accepts the good items of a file and rejects each bad one at its location, dead-lettered as a channel item', async () => {
    const { document, sha256 } = read(pain001WithBadItems({ createdAt }));
    const response = await t.intake.receive(document, sha256, null);
    expect(response.results.map((r) => r.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'accepted',
    ]);
    expect(response.results[2]!.location).toBe('/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[3]');
    expect(response.results[2]!.problems).toEqual([
      {
        path: '/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[3]/Amt/InstdAmt',
        message: 'has 3 decimals; EUR has 2 (ISO 4217)',
      },
    ]);
    expect((await t.transactions()).map((tx) => tx.amountMinor).sort()).toEqual([1000n, 2000n]);
    const letters = await Promise.all(
      (await readAll(t.bus, Topics.deadLetters)).map((r) => t.deadLetters.decode(r.value)),
    );
    expect(letters.map((l) => l.errorCode)).toEqual([
      'CHANNEL_ITEM_INVALID',
      'CHANNEL_ITEM_INVALID',
      'CHANNEL_ITEM_INVALID',
      'CHANNEL_ITEM_INVALID',
    ]);
    expect(recordsContaining(await readAll(t.bus, Topics.deadLetters), '4111111111111111')).toEqual([]);
  });

  it('moves a problem validation finds to the element the field came from', async () => {
    const xml = multiCurrencyPain001({ createdAt }).replace('US-ACCT-000123', 'US ACCT 000123');
    const { document, sha256 } = read(xml);
    const response = await t.intake.receive(document, sha256, null);
    expect(response.results[2]!.status).toBe('rejected');
    expect(response.results[2]!.problems).toEqual([
      {
        path: '/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf[1]/CdtrAcct/Id/Othr/Id',
        message: 'must be 1–128 characters of A–Z, a–z, 0–9 and . _ : -',
      },
    ]);
    expect(response.summary).toEqual({ accepted: 4, duplicate: 0, rejected: 1, conflict: 0 });
  });

  it('recognises a file sent twice: the file is a duplicate, so is each item, nothing is written again', async () => {
    const { document, sha256 } = read(pain001WithBadItems({ createdAt }));
    await t.intake.receive(document, sha256, null);
    const written = (await t.transactions()).length;
    const again = await t.intake.receive(document, sha256, null);
    expect(again.file.status).toBe('duplicate');
    expect(again.results.map((r) => r.status)).toEqual([
      'duplicate',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'duplicate',
    ]);
    expect((await t.transactions()).length).toBe(written);
    // Negative control: the same items under another message id are another file, with other transactions.
    const other = read(pain001WithBadItems({ createdAt, messageId: 'PAIN-BAD-0002' }));
    const fresh = await t.intake.receive(other.document, other.sha256, null);
    expect(fresh.file.status).toBe('new');
    expect(fresh.summary.accepted).toBe(2);
  });

  it('refuses the same message id with other content (409) before ingesting any of it', async () => {
    const first = read(multiCurrencyPain001({ createdAt }));
    await t.intake.receive(first.document, first.sha256, null);
    const changed = read(multiCurrencyPain001({ createdAt }).replace('>0.01<', '>0.02<'));
    await expect(t.intake.receive(changed.document, changed.sha256, null)).rejects.toThrow(ChannelFileConflictError);
    expect((await t.transactions()).length).toBe(5);
  });

  it('remembers received files across a restart of the store', async () => {
    const first = read(multiCurrencyPain001({ createdAt }));
    await t.intake.receive(first.document, first.sha256, null);
    const reopened = await FileChannelFileStore.open(t.dataDir, t.logger);
    try {
      expect(await reopened.lookup('pain.001.001.09\nPAIN-000123')).toEqual({
        key: 'pain.001.001.09\nPAIN-000123',
        sha256: first.sha256,
      });
      expect(await reopened.lookup('pain.001.001.09\nPAIN-000124')).toBeUndefined();
    } finally {
      await reopened.close();
    }
  });

  it('books a pacs.004 as a refund of the transfer it returns', async () => {
    const original = read(multiCurrencyPain001({ createdAt }));
    const [transfer] = (await t.intake.receive(original.document, original.sha256, null)).results;
    const returned = read(pacs004({ createdAt }));
    const [refund] = (await t.intake.receive(returned.document, returned.sha256, null)).results;
    expect(refund!.status).toBe('accepted');
    const logged = (await t.transactions()).find((tx) => tx.transactionId === refund!.transactionId)!;
    expect(logged).toMatchObject({
      kind: 'REFUND',
      originalTransactionId: transfer!.transactionId,
      amountMinor: 100000n,
      currency: 'EUR',
    });
  });
});

describe('ChannelIntake in slices', () => {
  it('gives the same results when the ingestor takes two items per call', async () => {
    const t = await setup(2);
    try {
      const { document, sha256 } = read(pain001WithBadItems({ createdAt }));
      const response = await t.intake.receive(document, sha256, null);
      expect(response.summary).toEqual({ accepted: 2, duplicate: 0, rejected: 4, conflict: 0 });
      expect(response.results.map((r) => r.location)).toEqual(document.items.map((i) => i.location));
    } finally {
      await t.close();
    }
  });
});

describe('ChannelIntake.receiveStream: memory bounded by the slice, not the file', () => {
  const header = csvHeader.split(',');
  const layout = CsvLayout.of({ record: header, info: { lines: 1 } }, { hasher: sha256Hasher, fileId: 'stream-1' }, '');
  /** Row i of a long CSV file; every 100th row has three decimals in EUR and is rejected. */
  const row = (i: number): ChannelItem => {
    if (!layout.ok) throw new Error('bad header');
    const amount = i % 100 === 99 ? '10.001' : '12.34';
    const cells = `stream-${i},sepa,transfer,${amount},EUR,DE89370400440532013000,FR1420041010050500013M02606,${createdAt},SEPA_CT,,`;
    return layout.layout.item({ record: cells.split(','), info: { lines: i + 2 } });
  };
  const ROWS = 2_345;
  const PER_CALL = 100;

  /** Streams ROWS items through `source` into the intake, measuring how far reading runs ahead of answering. */
  async function streamed(t: Setup, source: (items: Iterable<ChannelItem>) => Iterable<ChannelItem>) {
    let pulled = 0;
    let answered = 0;
    let mostAhead = 0;
    const items = function* (): Generator<ChannelItem> {
      for (let i = 0; i < ROWS; i++) {
        pulled++;
        yield row(i);
      }
    };
    const callSizes: number[] = [];
    const accept = t.ingestor.accept.bind(t.ingestor);
    t.ingestor.accept = (slice, ...rest) => {
      callSizes.push(slice.length);
      mostAhead = Math.max(mostAhead, pulled - answered);
      return accept(slice, ...rest);
    };
    const locations: string[] = [];
    const summary = await t.intake.receiveStream(
      { format: 'csv', messageId: 'stream-1', items: source(items()) },
      'a'.repeat(64),
      null,
      'FILE',
      {
        start: () => undefined,
        results: (results) => {
          answered += results.length;
          for (const r of results) if (r.status === 'rejected') locations.push(r.location);
        },
      },
    );
    return { summary, callSizes, mostAhead, locations };
  }

  it('reads a slice, ingests it and answers it before reading the next; exact counts and locations', async () => {
    const t = await setup(PER_CALL);
    try {
      const run = await streamed(t, (items) => items);
      expect(run.summary).toEqual({ accepted: 2_322, duplicate: 0, rejected: 23, conflict: 0 });
      expect(run.callSizes).toEqual([...Array<number>(23).fill(PER_CALL), 45]);
      // At most one slice read and not yet answered, whatever the file's length.
      expect(run.mostAhead).toBe(PER_CALL);
      expect(run.locations).toEqual(Array.from({ length: 23 }, (_, k) => `line ${k * 100 + 101}`));
      expect(await t.transactions()).toHaveLength(2_322);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('negative control: a source read whole before the intake sees it is caught by the same measure', async () => {
    const t = await setup(PER_CALL);
    try {
      const whole = function* (items: Iterable<ChannelItem>): Generator<ChannelItem> {
        yield* [...items];
      };
      const run = await streamed(t, whole);
      expect(run.summary).toEqual({ accepted: 2_322, duplicate: 0, rejected: 23, conflict: 0 });
      expect(run.mostAhead).toBe(ROWS);
    } finally {
      await t.close();
    }
  }, 60_000);
});

describe('ChannelIntake: chargebacks of gateway events', () => {
  const verdict = {
    location: '/data/object',
    transactionId: 'stripe-0123456789abcdef0123456789abcdef01234567',
    payerAccountId: null,
    transactionEventTimeMs: 1_795_510_000_000,
    note: 'stripe dispute fraudulent',
    references: { EventId: 'evt_1' },
  };
  const message: ChannelDocument = { format: 'stripe', messageId: 'evt_1', items: [], verdicts: [verdict] };

  /** An intake whose recorder keeps what it was given, over `files` (the real receipt store, or a planted one). */
  async function withRecorder(forgetful: boolean) {
    const t = await setup();
    const recorded: string[] = [];
    const files = await FileChannelFileStore.open(`${t.dataDir}/verdicts`, t.logger);
    const intake = new ChannelIntake({
      ingestor: undefined as unknown as Ingestor,
      // The planted fault: a receipt store that never remembers, so every delivery looks new.
      files: forgetful
        ? {
            lookup: () => Promise.resolve(undefined),
            remember: () => Promise.resolve(),
            isHealthy: () => true,
            close: () => Promise.resolve(),
          }
        : files,
      logger: t.logger,
      itemsPerCall: 10,
      chargebacks: {
        record: (verdicts) => {
          recorded.push(...verdicts.map((v) => v.transactionId));
          return Promise.resolve(
            verdicts.map((_, i) => ({ partition: 0, offset: recorded.length - verdicts.length + i })),
          );
        },
      },
    });
    const close = async () => {
      await files.close();
      await t.close();
    };
    return { intake, recorded, close };
  }

  it('records a chargeback once, answering the redelivered event as a duplicate', async () => {
    const { intake, recorded, close } = await withRecorder(false);
    try {
      const first = await intake.receive(message, 'a'.repeat(64), 'gateway:stripe', 'WEBHOOK');
      expect(first.results).toEqual([
        {
          transactionId: verdict.transactionId,
          status: 'accepted',
          partition: 0,
          offset: 0,
          location: '/data/object',
          references: { EventId: 'evt_1' },
        },
      ]);
      const again = await intake.receive(message, 'a'.repeat(64), 'gateway:stripe', 'WEBHOOK');
      expect(again.results.map((r) => r.status)).toEqual(['duplicate']);
      expect(recorded).toEqual([verdict.transactionId]);
    } finally {
      await close();
    }
  });

  it('negative control: with a receipt store that forgets, the same check sees the chargeback recorded twice', async () => {
    const { intake, recorded, close } = await withRecorder(true);
    try {
      await intake.receive(message, 'a'.repeat(64), 'gateway:stripe', 'WEBHOOK');
      await intake.receive(message, 'a'.repeat(64), 'gateway:stripe', 'WEBHOOK');
      expect(recorded).not.toEqual([verdict.transactionId]);
      expect(recorded).toHaveLength(2);
    } finally {
      await close();
    }
  });
});
