/**
 * The ceiling beside `npm run bench`, run as its own process so that it neither shares the pipeline's heap and JIT
 * nor counts in its CPU: the same transactions through the stages' work in one thread with no I/O
 * (bench/stage-work.ts), in batches. Reads a JSON job (a traffic slice and a batch size) from argv[2], prints one
 * JSON line: the totals per stage.
 */
import { StageWork, type StageWorkTotals } from './stage-work.js';
import { type TrafficSlice, benchRequests } from './traffic.js';

export interface CeilingJob extends TrafficSlice {
  readonly batchSize: number;
}

export type CeilingResult = StageWorkTotals;

const job = JSON.parse(process.argv[2] ?? '{}') as CeilingJob;
const requests = benchRequests(job);
const work = await StageWork.create();
for (let i = 0; i < requests.length; i += job.batchSize) await work.run(requests.slice(i, i + job.batchSize));
work.close();
process.stdout.write(JSON.stringify(work.totals()) + '\n');
