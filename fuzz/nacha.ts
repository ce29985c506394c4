import fc from 'fast-check';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import { parseNacha } from '../ingest/domain/channels/nacha/nacha.js';
import { type NachaEntrySpec, ODFI, nachaFile } from '../ingest/testing/nacha.js';
import { formatMinorUnits } from '../schemas/currencies.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the NACHA channel parser (ingest/domain/channels/nacha/): any bytes give a document or a refusal,
 * never a throw; every item is a request or located problems, in record order; a sound file's entries arrive as
 * exactly their cents; and a file with one character changed in a control or an amount is either still sound or
 * refused with a record number.
 */
export type ParseNacha = typeof parseNacha;

const createdAt = new Date('2026-11-24T08:30:00Z');
const entry = fc.record({
  code: fc.constantFrom('22', '27', '32', '37', '23'),
  routing: fc.constantFrom('091000019', '026009593', '121042882'),
  account: fc.array(fc.constantFrom(...'0123456789AZ'), { minLength: 1, maxLength: 17 }).map((chars) => chars.join('')),
  amountCents: fc.bigInt({ min: 0n, max: 9_999_999_999n }),
  name: fc.constantFrom('JANE DOE', 'ACME'),
});
const soundFile = fc
  .array(fc.array(entry, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 })
  .map((specs) => {
    let sequence = 0;
    return specs.map((b) => b.map((e): NachaEntrySpec => ({ ...e, sequence: ++sequence })));
  })
  .map((batches) => ({
    batches,
    text: nachaFile(
      createdAt,
      batches.map((entries, i) => ({
        sec: 'PPD',
        companyName: 'ACME',
        companyId: '1234567890',
        description: 'PAYROLL',
        effectiveDate: '261125',
        odfi: ODFI,
        batchNumber: i + 1,
        entries,
      })),
    ),
  }));
const bytes = fc.oneof(
  soundFile.map((f) => Buffer.from(f.text, 'latin1')),
  fc.tuple(soundFile, fc.nat()).map(([f, cut]) => Buffer.from(f.text.slice(0, cut % (f.text.length + 1)), 'latin1')),
  fc
    .tuple(soundFile, fc.nat(), fc.constantFrom('0', '9', ' ', 'X', '\n', '\r', '\u0000', '5', '6', '7', '8'))
    .map(([f, at, c]) => {
      const i = at % f.text.length;
      return Buffer.from(f.text.slice(0, i) + c + f.text.slice(i + 1), 'latin1');
    }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

export function nachaTotalityTarget(parse: ParseNacha = parseNacha): FuzzTarget {
  return defineTarget('NACHA parsing of any bytes', () =>
    fc.property(bytes, (input) => {
      const parsed = parse(input, { hasher: sha256Hasher });
      if (!parsed.ok) {
        if (parsed.problems.length === 0) throw new Error('a refusal without a problem');
        for (const p of parsed.problems)
          if (!/^record [1-9][0-9]*/.test(p.path)) throw new Error(`refusal without a record number: ${p.path}`);
        return;
      }
      let previous = 0;
      for (const item of parsed.document.items) {
        if ((item.request === undefined) === (item.problems.length === 0))
          throw new Error(`item at ${item.location}: a request and problems, or neither`);
        const record = /^record ([1-9][0-9]*)$/.exec(item.location);
        if (record === null || Number(record[1]) <= previous) throw new Error(`item location ${item.location}`);
        previous = Number(record[1]);
        for (const p of item.problems)
          if (!p.path.startsWith('record ')) throw new Error(`problem at ${p.path}, not a record`);
      }
    }),
  );
}

/** Every entry of a sound file arrives, in order, as exactly its cents; prenotes are rejected, nothing else is. */
export function nachaExactAmountTarget(parse: ParseNacha = parseNacha): FuzzTarget {
  return defineTarget('NACHA amounts are exact cents', () =>
    fc.property(soundFile, ({ batches, text }) => {
      const parsed = parse(Buffer.from(text, 'latin1'), { hasher: sha256Hasher });
      if (!parsed.ok) throw new Error(`refused: ${JSON.stringify(parsed.problems)}`);
      const entries = batches.flat();
      if (parsed.document.items.length !== entries.length)
        throw new Error(`${entries.length} entries, ${parsed.document.items.length} items`);
      entries.forEach((spec, i) => {
        const item = parsed.document.items[i]!;
        const expectRequest = spec.code !== '23' && spec.amountCents > 0n;
        if (expectRequest !== (item.request !== undefined))
          throw new Error(`entry ${i + 1} (${spec.code}, ${spec.amountCents}): ${JSON.stringify(item.problems)}`);
        const value = item.request?.amount.value;
        if (value !== undefined && value !== formatMinorUnits(spec.amountCents, 'USD'))
          throw new Error(`${spec.amountCents} cents arrived as ${value}`);
      });
    }),
  );
}

export const nachaTargets: readonly FuzzTarget[] = [nachaTotalityTarget(), nachaExactAmountTarget()];
