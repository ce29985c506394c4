import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { HANDBOOK_CSV_HEADER, type HandbookRow, parseHandbookRow } from '../../simulator/handbook-csv.js';

/**
 * Streams the rows of a handbook CSV file (plain, or gzip — recognised by its magic bytes, whatever the name),
 * one line in memory at a time. Throws RangeError naming the file and line on a wrong header or a bad row.
 * Stopping the iteration early closes the file.
 */
export async function* readHandbookCsv(path: string): AsyncGenerator<HandbookRow> {
  const head = Buffer.alloc(2);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const input: Readable = head[0] === 0x1f && head[1] === 0x8b ? file.pipe(createGunzip()) : file;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (lineNumber === 1) {
        if (line !== HANDBOOK_CSV_HEADER)
          throw new RangeError(
            `${path}:1: expected the handbook header ${HANDBOOK_CSV_HEADER}, got ${JSON.stringify(line.slice(0, 200))}`,
          );
        continue;
      }
      if (line === '') continue;
      let row: HandbookRow;
      try {
        row = parseHandbookRow(line);
      } catch (cause) {
        throw new RangeError(`${path}:${lineNumber}: ${cause instanceof Error ? cause.message : String(cause)}`, {
          cause,
        });
      }
      yield row;
    }
  } finally {
    lines.close();
    file.destroy();
    input.destroy();
  }
}
