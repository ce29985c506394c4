import {
  type Decode,
  allTopics,
  boundedDecode,
  codecTargets,
  decodeRobustnessTarget,
  roundTripTarget,
} from '../fuzz/codec.js';
import { type FuzzTarget, assertTarget, unitBudget } from '../fuzz/target.js';
import { Topics } from './topics.js';

// The fuzz targets of fuzz/codec.ts (a round trip and damaged bytes for every topic) with a small, seeded budget.
describe('Confluent-framed Avro codec properties', () => {
  it('covers every topic', () => {
    expect(codecTargets).toHaveLength(2 * allTopics.length);
  });

  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(codecTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// Each property must be able to fail: a copy of encode→decode or of decode with a planted bug.
describe('negative controls', () => {
  const fails = async (target: FuzzTarget): Promise<boolean> =>
    (await target.check({ ...unitBudget, endOnFailure: true })).failed;

  it('a round trip that passes amounts through a float is caught', async () => {
    const targetWithFloatAmounts = roundTripTarget(Topics.transactionsRaw, {
      encodeDecode: async (codec, value) => {
        const decoded = (await codec.decode(codec.encode(value))) as { amountMinor: bigint };
        return { ...decoded, amountMinor: BigInt(Number(decoded.amountMinor)) };
      },
    });
    expect(await fails(targetWithFloatAmounts)).toBe(true);
  });

  it('a decode that reads the schema id before checking the length is caught throwing untyped', async () => {
    const unchecked: Decode = (codec, bytes) => {
      bytes.readUInt32BE(1);
      return boundedDecode(codec, bytes);
    };
    expect(await fails(decodeRobustnessTarget(Topics.transactionsRaw, { decode: unchecked }))).toBe(true);
  });

  it('a decode that ignores the magic byte is caught', async () => {
    const noMagic: Decode = (codec, bytes) =>
      boundedDecode(codec, bytes.length > 0 ? Buffer.concat([Buffer.from([0]), bytes.subarray(1)]) : bytes);
    expect(await fails(decodeRobustnessTarget(Topics.fraudAlerts, { decode: noMagic }))).toBe(true);
  });
});
