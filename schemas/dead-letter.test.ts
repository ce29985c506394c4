import { createHash } from 'node:crypto';
import { ManualClock } from '../platform/clock.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { makeTempDir, readAll, removeTempDir } from '../platform/embedded-log/test-helpers.js';
import { VigilError } from '../platform/errors.js';
import { createCodec } from './codec.js';
import { DeadLetterWriter, ORIGINAL_BYTES_KEPT } from './dead-letter.js';
import type { DeadLetter } from './generated/types.js';
import { EmbeddedSchemaRegistry } from './registry.js';
import { HeaderNames, Topics } from './topics.js';

/**
 * A record near its topic's size limit makes a dead letter over the limit (the letter adds the reason). Such a
 * letter is written with the original bytes cut, instead of being refused for ever.
 */
describe('DeadLetterWriter and records too large for a whole letter', () => {
  let dir: string;
  let log: EmbeddedLog;

  beforeEach(async () => {
    dir = await makeTempDir();
    log = await EmbeddedLog.open({ dir, maxRecordBytes: 200_000 });
    await log.ensureTopics([
      { topic: Topics.deadLetters, partitions: 1 },
      { topic: Topics.transactionsRaw, partitions: 1 },
    ]);
  });
  afterEach(async () => {
    await log.close();
    await removeTempDir(dir);
  });

  async function letters(): Promise<Array<{ letter: DeadLetter; headers: Record<string, string> }>> {
    const codec = await createCodec<DeadLetter>(new EmbeddedSchemaRegistry(), Topics.deadLetters);
    const records = await readAll(log, Topics.deadLetters, 0);
    return Promise.all(records.map(async (r) => ({ letter: await codec.decode(r.value), headers: { ...r.headers } })));
  }

  async function poisonOf(bytes: number) {
    const value = Buffer.alloc(bytes, 0xff);
    const [at] = await log.producer().send(Topics.transactionsRaw, [{ key: 'acct-1', value }]);
    const record = (await log.read(Topics.transactionsRaw, 0, at!.offset, 1))[0]!;
    return { record, originalBytes: value, error: new VigilError('CORRUPT_BODY', 'not a record') };
  }

  it('cuts the original bytes of a letter over the limit, says so, and writes the others whole, once each', async () => {
    const writer = await DeadLetterWriter.create(log, new EmbeddedSchemaRegistry(), 'scoring', new ManualClock(0));
    const small = await poisonOf(100);
    const large = await poisonOf(199_900);
    // The protection's absence: the whole letter is refused, every time.
    await expect(log.producer().send(Topics.deadLetters, [writer.toRecord(large)])).rejects.toMatchObject({
      code: 'RECORD_TOO_LARGE',
    });

    await writer.send([small, large]);
    const written = await letters();
    expect(written.map((w) => [w.letter.sourceOffset, w.letter.originalBytes.length])).toEqual([
      [BigInt(small.record.offset), 100],
      [BigInt(large.record.offset), ORIGINAL_BYTES_KEPT],
    ]);
    const cut = written[1]!;
    const sha256 = createHash('sha256').update(large.originalBytes).digest('hex');
    expect(cut.headers[HeaderNames.dlqOriginalLength]).toBe('199900');
    expect(cut.headers[HeaderNames.dlqOriginalSha256]).toBe(sha256);
    expect(cut.letter.problems).toEqual([
      {
        path: '/originalBytes',
        message: `cut to ${ORIGINAL_BYTES_KEPT} of 199900 bytes (SHA-256 ${sha256}): the letter with the whole record is larger than tx.dlq accepts`,
      },
    ]);
    expect(written[0]!.headers[HeaderNames.dlqOriginalLength]).toBeUndefined();
  });

  it('keeps none of the bytes when even the cut letter does not fit', async () => {
    await log.close();
    log = await EmbeddedLog.open({ dir, maxRecordBytes: 40_000 });
    const writer = await DeadLetterWriter.create(log, new EmbeddedSchemaRegistry(), 'scoring', new ManualClock(0));
    await writer.send([await poisonOf(39_900)]);
    const [only] = await letters();
    expect(only!.letter.originalBytes.length).toBe(0);
    expect(only!.headers[HeaderNames.dlqOriginalLength]).toBe('39900');
  });
});
