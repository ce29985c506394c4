/**
 * Child process of the kill -9 test: joins `<group>` on `<topic>` and prints `handled <value>` for every record
 * its handler finished, until it is killed. Usage: crash-member.ts <topic> <group> [brokers]
 */
import { silentLogger } from '../logger.js';
import { KafkaBus } from './kafka-bus.js';

const [topic, groupId, brokers = '127.0.0.1:9092'] = process.argv.slice(2);
if (topic === undefined || groupId === undefined) throw new Error('usage: crash-member.ts <topic> <group> [brokers]');

const bus = await KafkaBus.connect({
  brokers: brokers.split(','),
  clientId: 'vigil-crash-member',
  logger: silentLogger,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 300,
  maxWaitTimeMs: 100,
});
await bus.subscribe({ groupId, topics: [topic], maxBatchRecords: 10 }, (batch) => {
  // stdout is a pipe: writes are synchronous on Linux, so a printed line is never lost with the process.
  process.stdout.write(batch.records.map((r) => `handled ${r.value.toString()} ${r.partition}\n`).join(''));
  return Promise.resolve();
});
process.stdout.write('joined\n');
