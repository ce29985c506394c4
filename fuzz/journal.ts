import fc from 'fast-check';
import { parseJournal } from '../ingest/adapters/file-idempotency-store.js';
import type { IdempotencyRecord } from '../ingest/ports.js';
import { type FuzzTarget, defineTarget } from './target.js';
import { ID_CHARS, LOWER_HEX, charsOf } from './text.js';

/**
 * Properties of the idempotency journal parser (ingest/adapters/file-idempotency-store.ts `parseJournal`): lines
 * written by the store read back exactly (first occurrence of an id wins), a torn last line is cut off and
 * nothing before it is lost, and any bytes at all parse without throwing into records the grammar allows.
 */
export type ParseJournal = typeof parseJournal;

const record: fc.Arbitrary<IdempotencyRecord> = fc.record({
  // Few distinct ids, so repeats (a retried remember) are common.
  transactionId: fc.oneof(charsOf(ID_CHARS, 1, 128), fc.constantFrom('tx-1', 'tx-2', 'tx-3')),
  fingerprint: charsOf(LOWER_HEX, 64, 64),
  partition: fc.nat({ max: 999_999_999 }),
  offset: fc.maxSafeNat().filter((n) => n < 10 ** 16),
});

/** A journal line exactly as FileIdempotencyStore.remember writes it. */
const line = (r: IdempotencyRecord): string => `${r.transactionId}\t${r.fingerprint}\t${r.partition}\t${r.offset}\n`;

function firstOccurrences(records: readonly IdempotencyRecord[]): Map<string, IdempotencyRecord> {
  const first = new Map<string, IdempotencyRecord>();
  for (const r of records) if (!first.has(r.transactionId)) first.set(r.transactionId, r);
  return first;
}

function sameRecords(
  actual: ReadonlyMap<string, IdempotencyRecord>,
  expected: ReadonlyMap<string, IdempotencyRecord>,
): boolean {
  if (actual.size !== expected.size) return false;
  for (const [id, r] of expected) {
    const a = actual.get(id);
    if (!a || a.fingerprint !== r.fingerprint || a.partition !== r.partition || a.offset !== r.offset) return false;
  }
  return true;
}

export function journalRoundTripTarget(parse: ParseJournal = parseJournal): FuzzTarget {
  return defineTarget('journal lines read back', () =>
    fc.property(fc.array(record, { maxLength: 20 }), (records) => {
      const bytes = Buffer.from(records.map(line).join(''), 'utf8');
      const parsed = parse(bytes);
      if (parsed.intactBytes !== bytes.length) throw new Error(`intactBytes ${parsed.intactBytes} of ${bytes.length}`);
      if (parsed.skippedLines !== 0) throw new Error(`${parsed.skippedLines} lines skipped`);
      if (!sameRecords(parsed.records, firstOccurrences(records))) throw new Error('records differ');
    }),
  );
}

export function tornTailTarget(parse: ParseJournal = parseJournal): FuzzTarget {
  return defineTarget('journal torn last line is cut off', () =>
    fc.property(fc.array(record, { maxLength: 10 }), record, fc.nat(), (records, torn, cut) => {
      const intact = Buffer.from(records.map(line).join(''), 'utf8');
      const tornLine = Buffer.from(line(torn), 'utf8');
      // A crash mid-append leaves any strict prefix of the line, without its newline.
      const bytes = Buffer.concat([intact, tornLine.subarray(0, cut % tornLine.length)]);
      const parsed = parse(bytes);
      if (parsed.intactBytes !== intact.length)
        throw new Error(`intactBytes ${parsed.intactBytes}, not ${intact.length}`);
      if (!sameRecords(parsed.records, firstOccurrences(records))) throw new Error('records differ');
    }),
  );
}

const grammar = /^[A-Za-z0-9._:-]{1,128}$/;

export function anyJournalBytesTarget(parse: ParseJournal = parseJournal): FuzzTarget {
  // Valid lines, garbage and the damage a disk or an editor does (CRLF, NUL, invalid UTF-8, a missing field).
  const chunk = fc.oneof(
    record.map((r) => Buffer.from(line(r), 'utf8')),
    record.map((r) => Buffer.from(line(r).replace('\n', '\r\n'), 'utf8')),
    record.map((r) => Buffer.from(line(r).replace(/\t\d+\n$/, '\n'), 'utf8')),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.constantFrom(Buffer.from('\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('\0\t\t\t\n')),
  );
  return defineTarget('journal parsing of any bytes', () =>
    fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
      const bytes = Buffer.concat(chunks);
      const parsed = parse(bytes);
      const newlines = bytes.filter((b) => b === 0x0a).length;
      if (parsed.intactBytes > bytes.length) throw new Error('intactBytes beyond the end');
      if (parsed.intactBytes > 0 && bytes[parsed.intactBytes - 1] !== 0x0a) throw new Error('cut inside a line');
      if (bytes.subarray(parsed.intactBytes).includes(0x0a)) throw new Error('a complete line was cut off');
      if (parsed.records.size + parsed.skippedLines > newlines) throw new Error('more lines than newlines');
      for (const [id, r] of parsed.records) {
        if (id !== r.transactionId || !grammar.test(id) || !/^[0-9a-f]{64}$/.test(r.fingerprint))
          throw new Error(`record ${JSON.stringify(r)} breaks the grammar`);
        if (!Number.isSafeInteger(r.partition) || r.partition < 0 || !Number.isSafeInteger(r.offset) || r.offset < 0)
          throw new Error(`record ${JSON.stringify(r)} has a bad position`);
      }
    }),
  );
}

export const journalTargets: readonly FuzzTarget[] = [
  journalRoundTripTarget(),
  tornTailTarget(),
  anyJournalBytesTarget(),
];
