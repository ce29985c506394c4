import { catchesWithinUnitBudget, itHoldsForEach } from '../fuzz/unit-tier.js';
import {
  type Decode,
  allTopics,
  blockCountTarget,
  blockCountTopics,
  codecTargets,
  decodeRobustnessTarget,
  hasNumberBeyond2To52,
  roundTripTarget,
} from '../fuzz/codec.js';
import { CodecError, readerType } from './codec.js';
import { TopicValueSchema, Topics } from './topics.js';

// The fuzz targets of fuzz/codec.ts (a round trip and damaged bytes for every topic) with a small, seeded budget.
describe('Confluent-framed Avro codec properties', () => {
  it('covers every topic', () => {
    // A round trip and damaged bytes per topic, crafted block counts per topic with an array or map, and the
    // round trips of timestamps over every safe integer and of map key "__proto__".
    expect([...blockCountTopics].sort()).toEqual(
      [
        Topics.transactionsScored,
        Topics.fraudAlerts,
        Topics.deadLetters,
        Topics.ledgerBalances,
        Topics.ledgerEvents,
        Topics.shadowDecisions,
      ].sort(),
    );
    expect(codecTargets).toHaveLength(2 * allTopics.length + blockCountTopics.length + 2);
  });

  itHoldsForEach(codecTargets);
});

// Each property must be able to fail: a copy of encode→decode or of decode with a planted bug.
describe('negative controls', () => {
  it('a round trip that passes amounts through a float is caught', async () => {
    const targetWithFloatAmounts = roundTripTarget(Topics.transactionsRaw, {
      encodeDecode: async (codec, value) => {
        const decoded = (await codec.decode(codec.encode(value))) as { amountMinor: bigint };
        return { ...decoded, amountMinor: BigInt(Number(decoded.amountMinor)) };
      },
    });
    expect(await catchesWithinUnitBudget(targetWithFloatAmounts)).toBe(true);
  });

  it('a decode that reads the schema id before checking the length is caught throwing untyped', async () => {
    const unchecked: Decode = (codec, bytes) => {
      bytes.readUInt32BE(1);
      return codec.decode(bytes);
    };
    expect(await catchesWithinUnitBudget(decodeRobustnessTarget(Topics.transactionsRaw, { decode: unchecked }))).toBe(
      true,
    );
  });

  it('a decode that ignores the magic byte is caught', async () => {
    const noMagic: Decode = (codec, bytes) =>
      codec.decode(bytes.length > 0 ? Buffer.concat([Buffer.from([0]), bytes.subarray(1)]) : bytes);
    expect(await catchesWithinUnitBudget(decodeRobustnessTarget(Topics.fraudAlerts, { decode: noMagic }))).toBe(true);
  });

  it('a decode that passes an out-of-range int on is caught', async () => {
    const widePartition: Decode = async (codec, bytes) => {
      const decoded = (await codec.decode(bytes)) as { sourcePartition: number | null };
      return { ...decoded, sourcePartition: 2 ** 31 };
    };
    expect(await catchesWithinUnitBudget(decodeRobustnessTarget(Topics.deadLetters, { decode: widePartition }))).toBe(
      true,
    );
  });

  it('a decode without the encoding check (avsc alone) is caught on a crafted block count', async () => {
    // Counts of 2^32 and more make avsc's `new Array(n)` throw at once, so this control cannot hang.
    const avscAlone: Decode = (codec, bytes) => {
      try {
        const decoded = readerType(TopicValueSchema[codec.topic]).decode(bytes.subarray(5));
        if (decoded.offset !== bytes.length - 5) throw new Error('not one record');
        return Promise.resolve(decoded.value as unknown);
      } catch (cause) {
        return Promise.reject(new CodecError('CORRUPT_BODY', 'does not decode', {}, cause));
      }
    };
    const target = blockCountTarget(Topics.deadLetters, { decode: avscAlone, minCount: 2n ** 32n });
    expect(await catchesWithinUnitBudget(target)).toBe(true);
  });

  it('a round trip that does not refuse timestamps beyond ±2^52 is caught', async () => {
    const target = roundTripTarget(Topics.analystLabels, {
      values: { fullSafeIntegerRange: true },
      refused: hasNumberBeyond2To52,
      encodeDecode: (_codec, value) => Promise.resolve(value),
    });
    expect(await catchesWithinUnitBudget(target)).toBe(true);
  });
});
