import type { RecordBatch, Subscription } from '../bus.js';
import { partitionForKey } from '../murmur2.js';
import { KafkaTestContext, requireBroker, waitFor } from './test-helpers.js';

// Three members of one group read two topics keyed by account (as scoring reads tx.raw beside ledger.balances):
// every account's records on both topics must reach one member, whichever that is.
describe('co-partitioned assignment on a real broker', () => {
  const ctx = new KafkaTestContext();
  beforeAll(requireBroker);
  afterEach(() => ctx.cleanup());

  it('given 3 members over two 8-partition topics, then each account is read by one member on both topics', async () => {
    const bus = await ctx.bus();
    const [debits, balances] = [ctx.topic('vigil-test-debits'), ctx.topic('vigil-test-balances')];
    await bus.ensureTopics([
      { topic: debits, partitions: 8 },
      { topic: balances, partitions: 8 },
    ]);
    const group = ctx.group();
    /** Per topic and key, the members that were handed a record of it. */
    const readers = new Map<string, Set<number>>();
    let handled = 0;
    const subscriptions: Subscription[] = [];
    for (let member = 0; member < 3; member++) {
      const memberBus = await ctx.bus();
      subscriptions.push(
        await memberBus.subscribe({ groupId: group, topics: [debits, balances] }, (batch: RecordBatch) => {
          for (const record of batch.records) {
            const key = `${batch.topic === debits ? 'debit' : 'balance'} ${record.key!.toString()}`;
            readers.set(key, (readers.get(key) ?? new Set()).add(member));
            handled += 1;
          }
          return Promise.resolve();
        }),
      );
    }
    // Every member has joined the same generation before anything is produced.
    const accounts = Array.from({ length: 64 }, (_, i) => `account-${i}`);
    expect(new Set(accounts.map((a) => partitionForKey(a, 8))).size).toBe(8);
    const producer = bus.producer();
    await producer.send(
      debits,
      accounts.map((key) => ({ key, value: Buffer.from('debit') })),
    );
    await producer.send(
      balances,
      accounts.map((key) => ({ key, value: Buffer.from('balance') })),
    );
    await waitFor(() => handled >= accounts.length * 2, 'every record handed to some member', 60_000);

    const split = accounts.filter((a) => {
      const members = new Set([...(readers.get(`debit ${a}`) ?? []), ...(readers.get(`balance ${a}`) ?? [])]);
      return members.size !== 1;
    });
    expect(split).toEqual([]);
    // Three members shared the work (a single member reading everything would pass the check above trivially).
    expect(new Set([...readers.values()].flatMap((m) => [...m])).size).toBe(3);
    await Promise.all(subscriptions.map((s) => s.close()));
  });
});
