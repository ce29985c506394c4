import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from './crc32c.js';
import { GroupOffsetStore } from './stores.js';
import { makeTempDir, removeTempDir } from './test-helpers.js';

const topic = 'payments';
const at = (partition: number, offset: number) => ({ topic, partition, offset });

describe('group offsets: a journal of commits shared by every group', () => {
  let dir: string;
  const opened: GroupOffsetStore[] = [];
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close().catch(() => undefined);
    await removeTempDir(dir);
  });
  const load = async (journalCompactBytes?: number) => {
    const store = await GroupOffsetStore.load(dir, journalCompactBytes === undefined ? {} : { journalCompactBytes });
    opened.push(store);
    return store;
  };
  const journal = () => join(dir, 'groups', 'commits.log');
  /** Number of whole records in the journal (each: u32 length, u32 CRC, body). */
  const records = () => {
    const bytes = readFileSync(journal());
    let count = 0;
    for (let pos = 0; pos + 8 <= bytes.length; pos += 8 + bytes.readUInt32BE(pos)) count++;
    return count;
  };
  const committed = (store: GroupOffsetStore, groupId: string) =>
    [0, 1, 2].map((p) => store.committed(groupId, topic, p));

  it('given commits of three groups in flight together, then they share writes and a reopen reads every offset back', async () => {
    const store = await load();
    await Promise.all([
      store.commit('a', [at(0, 5)]),
      store.commit('b', [at(1, 7)]),
      store.commit('c', [at(2, 9)]),
      store.commit('a', [at(1, 6)]),
    ]);
    // The first write starts at once with 'a' alone; the three that came meanwhile share the second.
    expect(records()).toBe(2);
    await store.close();
    const reopened = await load();
    expect(committed(reopened, 'a')).toEqual([5, 6, -1]);
    expect(committed(reopened, 'b')).toEqual([-1, 7, -1]);
    expect(committed(reopened, 'c')).toEqual([-1, -1, 9]);
  });

  it('given a crash that tore the last write, then the offsets before it are read back, the tail is cut, and later commits survive the next reopen', async () => {
    const store = await load();
    await store.commit('a', [at(0, 5)]);
    await store.commit('a', [at(0, 8)]);
    await store.close();
    truncateSync(journal(), readFileSync(journal()).length - 3);

    const afterCrash = await load();
    expect(committed(afterCrash, 'a')).toEqual([5, -1, -1]);
    await afterCrash.commit('b', [at(2, 3)]);
    await afterCrash.close();
    const again = await load();
    expect(committed(again, 'a')).toEqual([5, -1, -1]);
    expect(committed(again, 'b')).toEqual([-1, -1, 3]);
  });

  it('rewrites the group files once the journal is long and empties it; a crash between the two reads the same offsets', async () => {
    const store = await load(200);
    /** The journal as a crash between writing the group files and emptying it leaves it. */
    let atCrash: Buffer | undefined;
    for (let offset = 1; atCrash === undefined && offset <= 20; offset++) {
      for (const [groupId, partition] of [
        ['a', 0],
        ['b', 1],
      ] as const) {
        const journalBefore = readFileSync(journal());
        await store.commit(groupId, [at(partition, offset * (partition + 1))]);
        if (readFileSync(journal()).length >= journalBefore.length) continue;
        // The record of this commit, as it was appended just before the compaction.
        const body = Buffer.from(JSON.stringify({ [groupId]: { [topic]: { [partition]: offset * (partition + 1) } } }));
        const frame = Buffer.alloc(8);
        frame.writeUInt32BE(body.length, 0);
        frame.writeUInt32BE(crc32c(body), 4);
        atCrash = Buffer.concat([journalBefore, frame, body]);
        break;
      }
    }
    expect(atCrash).toBeDefined();
    expect(
      readdirSync(join(dir, 'groups'))
        .filter((name) => name.endsWith('.json'))
        .sort(),
    ).toEqual(['a.json', 'b.json']);
    const expected = { a: committed(store, 'a'), b: committed(store, 'b') };
    await store.close();
    const compacted = await load();
    expect({ a: committed(compacted, 'a'), b: committed(compacted, 'b') }).toEqual(expected);
    await compacted.close();

    writeFileSync(journal(), atCrash!);
    const replayed = await load();
    expect({ a: committed(replayed, 'a'), b: committed(replayed, 'b') }).toEqual(expected);
    // Negative control: the same journal without its last record reads offsets older than were committed.
    await replayed.close();
    writeFileSync(journal(), atCrash!.subarray(0, atCrash!.length - 1));
    const torn = await load();
    expect({ a: committed(torn, 'a'), b: committed(torn, 'b') }).not.toEqual(expected);
  });
});
