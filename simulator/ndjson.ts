import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TrafficSimulator } from './generator.js';
import type { SimulatorOptions } from './types.js';

export interface NdjsonOptions extends SimulatorOptions {
  /** Number of requests to write. */
  readonly count: number;
}

export interface NdjsonSummary {
  readonly rows: number;
  readonly fraud: number;
}

const CHUNK_LINES = 4_096;

/**
 * `count` HTTP request bodies (TransactionRequest JSON), one per line, in chunks of 4,096 lines; `onChunk` hears
 * the rows produced so far before each chunk goes out (for a progress display).
 */
export function* ndjsonChunks(
  options: NdjsonOptions,
  summary: { rows: number; fraud: number } = { rows: 0, fraud: 0 },
  onChunk?: (rows: number) => void,
): Generator<string> {
  const { count, ...simulatorOptions } = options;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
  const simulator = new TrafficSimulator(simulatorOptions);
  let lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const { request, fraud } = simulator.nextRequest();
    lines.push(JSON.stringify(request));
    summary.rows++;
    if (fraud) summary.fraud++;
    if (lines.length >= CHUNK_LINES) {
      onChunk?.(summary.rows);
      yield lines.join('\n') + '\n';
      lines = [];
    }
  }
  onChunk?.(summary.rows);
  if (lines.length > 0) yield lines.join('\n') + '\n';
}

/**
 * Streams request bodies to `out` (a path, or a stream that is ended when done), gzip-compressed when `gzip`
 * is true (default: when the path ends in .gz). The file carries raw test card numbers (Luhn-valid test BINs).
 */
export async function writeNdjson(
  options: NdjsonOptions & {
    readonly out: string | Writable;
    readonly gzip?: boolean;
    /** Hears the rows produced so far, every 4,096 rows. */
    readonly onProgress?: (rows: number) => void;
  },
): Promise<NdjsonSummary> {
  const { out, gzip, onProgress, ...rest } = options;
  const counts = { rows: 0, fraud: 0 };
  const source = Readable.from(ndjsonChunks(rest, counts, onProgress), { objectMode: false });
  const sink = typeof out === 'string' ? createWriteStream(out) : out;
  if (gzip ?? (typeof out === 'string' && out.endsWith('.gz'))) await pipeline(source, createGzip(), sink);
  else await pipeline(source, sink);
  return counts;
}
