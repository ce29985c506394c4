import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { Account, AnalystLabel, LedgerBalance, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { BalanceFeed } from './balance-feed.js';
import { LedgerBatchHandler } from './ledger-writer.js';

/** The funds feedback: what ledger-sink tells scoring about policy accounts after each batch. */
async function setup() {
  const registry = new EmbeddedSchemaRegistry();
  const bus = capturingBus();
  const clock = new ManualClock(1_764_000_100_000);
  const metrics = new MetricsRegistry();
  const store = new MemoryStore();
  const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
  const labelCodec = await createCodec<AnalystLabel>(registry, Topics.analystLabels);
  const balanceCodec = await createCodec<LedgerBalance>(registry, Topics.ledgerBalances);
  const balances = new BalanceFeed({ store, producer: bus.producer(), codec: balanceCodec, clock, metrics });
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics,
    clock,
    balances,
  });
  const published = (): Promise<LedgerBalance[]> =>
    Promise.all((bus.sent.get(Topics.ledgerBalances) ?? []).map((r) => balanceCodec.decode(r.value)));
  const decide = (txs: ScoredTransaction[], firstOffset = 0) =>
    handler.handle(
      batchOf(
        Topics.transactionsScored,
        txs.map((t) => scoredCodec.encode(t)),
        { firstOffset },
      ),
    );
  return { balances, handler, published, decide, labelCodec, clock };
}

const policy = (accountId: string, limit: bigint | null, updatedAtMs = 1): Account => ({
  accountId,
  type: 'CUSTOMER',
  currency: 'EUR',
  overdraftLimitMinor: limit,
  scheme: null,
  updatedBy: 'admin',
  updatedAtMs,
});

const payment = (i: number, payer: string, payee: string, minor: bigint, decision: ScoredTransaction['decision']) =>
  scoredTransaction(
    i,
    {
      payerAccountId: payer,
      payeeAccountId: payee,
      amountMinor: minor,
      currency: 'EUR',
      settlement: null,
      kind: 'PURCHASE',
    },
    { decision },
  );

describe('BalanceFeed', () => {
  it('publishes nothing while no account has a policy', async () => {
    const { decide, published } = await setup();
    await decide([payment(1, 'alice', 'shop', 1000n, 'APPROVE')]);
    expect(await published()).toEqual([]);
  });

  it('publishes a policy account on gaining its policy, then after each batch touching it, with what it settled', async () => {
    const { balances, decide, published } = await setup();
    await balances.applyAccount(policy('alice', 0n));
    await decide([payment(1, 'bank', 'alice', 10_000n, 'APPROVE')]);
    await decide([payment(2, 'alice', 'shop', 2_500n, 'APPROVE'), payment(3, 'alice', 'shop', 1_000n, 'REVIEW')], 1);
    await decide([payment(4, 'alice', 'shop', 99_000n, 'DECLINE')], 3);

    const records = await published();
    expect(records.map((r) => [r.version, r.settledTransactionIds, r.balances])).toEqual([
      [0n, [], []],
      [1n, [], [{ currency: 'EUR', postedMinor: 10_000n, pendingDebitsMinor: 0n }]],
      [
        3n,
        [
          payment(2, 'alice', 'shop', 1n, 'APPROVE').transaction.transactionId,
          payment(3, 'a', 's', 1n, 'REVIEW').transaction.transactionId,
        ],
        [{ currency: 'EUR', postedMinor: 7_500n, pendingDebitsMinor: 1_000n }],
      ],
      [
        3n,
        [payment(4, 'a', 's', 1n, 'DECLINE').transaction.transactionId],
        [{ currency: 'EUR', postedMinor: 7_500n, pendingDebitsMinor: 1_000n }],
      ],
    ]);
    expect(records.every((r) => r.accountId === 'alice')).toBe(true);
  });

  it('publishes again when a verdict voids a hold, releasing its pending debit', async () => {
    const { balances, decide, published, handler, labelCodec, clock } = await setup();
    await balances.applyAccount(policy('alice', 0n));
    const review = payment(1, 'alice', 'shop', 1_000n, 'REVIEW');
    await decide([review]);
    const label: AnalystLabel = {
      transactionId: review.transaction.transactionId,
      label: 'FRAUD',
      labelledBy: 'analyst-1',
      labelledAtMs: clock.nowMs(),
      transactionEventTimeMs: review.transaction.eventTimeMs,
      payerAccountId: 'alice',
      cardToken: null,
      terminalId: null,
      note: null,
    };
    await handler.handle(batchOf(Topics.analystLabels, [labelCodec.encode(label)]));
    const last = (await published()).at(-1)!;
    expect(last.version).toBe(2n); // alice's hold leg, and its resolution
    expect(last.balances).toEqual([{ currency: 'EUR', postedMinor: 0n, pendingDebitsMinor: 0n }]);
  });

  it('stops publishing an account whose policy is removed, and ignores an older policy record', async () => {
    const { balances, decide, published } = await setup();
    await balances.applyAccount(policy('alice', 0n, 10));
    await balances.applyAccount(policy('alice', null, 5)); // older: ignored
    await decide([payment(1, 'alice', 'shop', 100n, 'APPROVE')]);
    expect((await published()).length).toBe(2);
    await balances.applyAccount(policy('alice', null, 20));
    await decide([payment(2, 'alice', 'shop', 100n, 'APPROVE')], 1);
    expect((await published()).length).toBe(2);
  });
});
