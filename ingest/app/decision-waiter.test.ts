import type { BusRecord, RecordBatch } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { DecisionWaiter } from './decision-waiter.js';

const NOW_MS = Date.UTC(2026, 11, 2, 9);

function scored(transactionId: string, decision: ScoredTransaction['decision']): ScoredTransaction {
  return {
    transaction: sampleTransaction({ transactionId }),
    decision,
    score: 0.5,
    risk: 0.5,
    reasons: [],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'm-1',
    rulesVersion: 'r-1',
    scoredAtMs: NOW_MS,
  };
}

/** A decoding codec that counts how often it was asked to decode. */
function countingCodec(codec: Codec<ScoredTransaction>): Codec<ScoredTransaction> & { decoded: number } {
  const counting = {
    ...codec,
    decoded: 0,
    decode: (bytes: Buffer) => {
      counting.decoded += 1;
      return codec.decode(bytes);
    },
  };
  return counting;
}

const hintFor = (value: ScoredTransaction): Record<string, string> => ({
  [HeaderNames.scoredTransactionId]: value.transaction.transactionId,
});

function batchOf(codec: Codec<ScoredTransaction>, values: ScoredTransaction[], withHeaders: boolean): RecordBatch {
  const records: BusRecord[] = values.map((value, offset) => ({
    topic: Topics.transactionsScored,
    partition: 0,
    offset,
    key: value.transaction.payerAccountId,
    value: codec.encode(value),
    headers: withHeaders ? hintFor(value) : {},
    timestampMs: NOW_MS,
  }));
  return { topic: Topics.transactionsScored, partition: 0, records };
}

describe('DecisionWaiter', () => {
  let codec: Codec<ScoredTransaction>;
  beforeAll(async () => {
    codec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
  });

  test.each([
    ['with the transaction-id header, only the awaited record is decoded', true, 1],
    ['without it (records from before the header), every record is decoded', false, 3],
  ])('%s', async (_name, withHeaders, expectedDecodes) => {
    const counting = countingCodec(codec);
    const waiter = new DecisionWaiter(counting, new ManualClock(NOW_MS));
    const wait = waiter.expect('tx-2');
    const values = [scored('tx-1', 'APPROVE'), scored('tx-2', 'DECLINE'), scored('tx-3', 'REVIEW')];
    await waiter.observe(batchOf(codec, values, withHeaders));
    await expect(wait.until(NOW_MS + 1000)).resolves.toMatchObject({ transactionId: 'tx-2', decision: 'DECLINE' });
    expect(counting.decoded).toBe(expectedDecodes);
  });

  test('a header naming another transaction than the value is not trusted for the answer: the value decides', async () => {
    const waiter = new DecisionWaiter(codec, new ManualClock(NOW_MS));
    const wait = waiter.expect('tx-2');
    const batch = batchOf(codec, [scored('tx-9', 'APPROVE')], false);
    const forged = {
      ...batch,
      records: batch.records.map((r) => ({ ...r, headers: { [HeaderNames.scoredTransactionId]: 'tx-2' } })),
    };
    await waiter.observe(forged);
    await expect(wait.until(NOW_MS)).resolves.toBeUndefined();
  });

  test('nothing is decoded while no one waits', async () => {
    const counting = countingCodec(codec);
    await new DecisionWaiter(counting, new ManualClock(NOW_MS)).observe(
      batchOf(codec, [scored('tx-1', 'APPROVE')], false),
    );
    expect(counting.decoded).toBe(0);
  });
});
