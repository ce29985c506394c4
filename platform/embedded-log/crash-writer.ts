/**
 * Child process of the crash test: appends records with `concurrency` concurrent producers until killed,
 * printing `ack <id> <partition> <offset>` for each acknowledged record. Usage: crash-writer.ts <dir> [concurrency]
 */
import { EmbeddedLog } from './embedded-log.js';
import { crashPartitions, crashRecord, crashTopic } from './test-helpers.js';

const dir = process.argv[2];
const concurrency = Number(process.argv[3] ?? 8);
if (dir === undefined) throw new Error('usage: crash-writer.ts <dir> [concurrency]');

const log = await EmbeddedLog.open({ dir, topics: [{ topic: crashTopic, partitions: crashPartitions }] });
const producer = log.producer();
let nextId = 0;

async function produce(): Promise<never> {
  for (;;) {
    const ids = [nextId++, nextId++, nextId++];
    const positions = await producer.send(
      crashTopic,
      ids.map((id) => crashRecord(id)),
    );
    // stdout is a pipe: writes are synchronous on Linux, so a printed ack is never lost with the process.
    process.stdout.write(positions.map((p, i) => `ack ${ids[i]} ${p.partition} ${p.offset}\n`).join(''));
  }
}

await Promise.all(Array.from({ length: concurrency }, () => produce()));
