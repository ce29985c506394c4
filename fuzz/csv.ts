import fc from 'fast-check';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import { parseCsv } from '../ingest/domain/channels/csv/csv.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the CSV channel parser (ingest/domain/channels/csv/): any bytes give a document or a refusal, never a
 * throw; every data row is one item, located by its line; no message quotes a card number.
 */
export type ParseCsv = typeof parseCsv;

const header =
  'transaction_id,channel,kind,amount,currency,payer_account,payee_account,event_time,scheme,end_to_end_id,remittance_info';
const cell = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('"a,b"', '"q""uote"', '4111111111111111', '10.001', '-1', '', '"open', '\r', '\uFEFF'),
);
const row = fc.array(cell, { minLength: 0, maxLength: 13 }).map((cells) => cells.join(','));
const text = fc.array(row, { maxLength: 8 }).map((rows) => [header, ...rows].join('\n'));
const bytes = fc.oneof(
  text.map((t) => Buffer.from(t, 'utf8')),
  fc.tuple(text, fc.nat()).map(([t, cut]) => Buffer.from(t.slice(0, cut % (t.length + 1)), 'utf8')),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

const quotesDigits = (message: string): boolean => /\d{12,}/.test(message.replace(/[ -]/g, ''));

export function csvTotalityTarget(parse: ParseCsv = parseCsv): FuzzTarget {
  return defineTarget('CSV parsing of any bytes', () =>
    fc.property(bytes, (input) => {
      const parsed = parse(input, { hasher: sha256Hasher });
      const problems = parsed.ok ? parsed.document.items.flatMap((i) => i.problems) : parsed.problems;
      for (const p of problems) if (quotesDigits(p.message)) throw new Error(`message quotes the input: ${p.message}`);
      if (!parsed.ok) {
        if (parsed.problems.length === 0) throw new Error('a refusal without a problem');
        return;
      }
      for (const item of parsed.document.items) {
        if ((item.request === undefined) === (item.problems.length === 0))
          throw new Error(`item at ${item.location}: a request and problems, or neither`);
        if (!/^line [1-9][0-9]*$/.test(item.location)) throw new Error(`item location ${item.location}`);
      }
      const lines = parsed.document.items.map((i) => Number(i.location.slice(5)));
      if (lines.some((line, i) => i > 0 && line <= lines[i - 1]!))
        throw new Error(`rows out of order: ${lines.join()}`);
    }),
  );
}

export const csvTargets: readonly FuzzTarget[] = [csvTotalityTarget()];
