import fc from 'fast-check';
import { sha256Hasher } from '../../../adapters/crypto.js';
import { ODFI, editRecord, nachaFile, payrollFile, returnFile, traceOf } from '../../../testing/nacha.js';
import type { ChannelDocument, ChannelParse } from '../channel.js';
import { NachaReader, parseNacha } from './nacha.js';

const createdAt = new Date('2026-11-24T08:30:00Z');
const parse = (text: string): ChannelParse => parseNacha(Buffer.from(text, 'latin1'), { hasher: sha256Hasher });
function document(text: string): ChannelDocument {
  const parsed = parse(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.document;
}
function refusal(text: string): ReadonlyArray<{ path: string; message: string }> {
  const parsed = parse(text);
  if (parsed.ok) throw new Error('the file was read');
  return parsed.problems;
}

describe('NACHA channel parser', () => {
  it('maps each entry detail to a request in integer cents, located by its record number', () => {
    const file = document(payrollFile(createdAt));
    expect(file).toMatchObject({ format: 'nacha', messageId: '121042882-261124-0830-A' });
    expect(file.items.map((i) => i.location)).toEqual(['record 3', 'record 5', 'record 6', 'record 9']);
    expect(file.items.map((i) => i.request?.amount)).toEqual([
      { value: '1234.56', currency: 'USD' },
      { value: '45.67', currency: 'USD' },
      undefined,
      { value: '100000.00', currency: 'USD' },
    ]);
    // A credit moves money from the originator to the receiver's account; a debit the other way.
    expect(file.items[0]!.request).toMatchObject({
      channel: 'ach',
      kind: 'transfer',
      payer: { accountId: `ach-originator:${ODFI}:1234567890` },
      payee: { accountId: 'ach:09100001:123456789' },
      bankTransfer: { scheme: 'ACH', endToEndId: traceOf(ODFI, 1), remittanceInfo: 'SALARY NOVEMBER' },
      eventTime: '2026-11-24T08:30:00Z',
    });
    expect(file.items[1]!.request).toMatchObject({
      payer: { accountId: 'ach:09100001:555000111' },
      payee: { accountId: `ach-originator:${ODFI}:1234567890` },
    });
    expect(file.items[2]!.problems).toEqual([
      { path: 'record 6, positions 2-3 (Transaction Code)', message: 'a prenotification moves no money' },
    ]);
    expect(file.items[3]!.sourceDocument.references).toMatchObject({ SEC: 'CCD', TraceNumber: traceOf(ODFI, 4) });
    expect(file.items[0]!.fieldLocations['/amount/value']).toBe('record 3, positions 30-39 (Amount)');
  });

  it('books a return (addenda 99) as a refund of the entry its original trace number names', () => {
    const original = document(payrollFile(createdAt)).items[0]!.request!;
    const [returned] = document(returnFile(createdAt)).items;
    expect(returned!.request).toMatchObject({
      kind: 'refund',
      originalTransactionId: original.transactionId,
      amount: { value: '1234.56', currency: 'USD' },
      payer: original.payer,
      payee: original.payee,
    });
    expect(returned!.sourceDocument.references).toMatchObject({ ReturnReason: 'R03', OriginalTrace: traceOf(ODFI, 1) });
    // Negative control: a return naming another trace number names another original.
    const other = document(editRecord(returnFile(createdAt), 4, 7, traceOf(ODFI, 2))).items[0]!.request!;
    expect(other.originalTransactionId).not.toBe(original.transactionId);
  });

  it('refuses a broken file as a whole, every problem at its record number', () => {
    const sound = payrollFile(createdAt);
    expect(refusal(editRecord(sound, 5, 94, '1 '))).toEqual([
      { path: 'record 5', message: 'has 95 characters; records have 94' },
    ]);
    // An RDFI changed: the batch's and the file's entry hash no longer add up (and nothing else).
    expect(refusal(editRecord(sound, 5, 4, '09100002'))).toEqual([
      { path: 'record 7, positions 11-20 (Entry Hash)', message: "is 27300003; the batch's entries give 27300004" },
      { path: 'record 11, positions 22-31 (Entry Hash)', message: "is 29900962; the file's records give 29900963" },
    ]);
    // An amount changed: the batch's debit total and the file's.
    expect(refusal(editRecord(sound, 5, 30, '0000004568')).map((p) => p.path)).toEqual([
      'record 7, positions 21-32 (Total Debit Entry Dollar Amount)',
      'record 11, positions 32-43 (Total Debit Entry Dollar Amount in File)',
    ]);
    expect(refusal(editRecord(sound, 5, 30, '00000045x7')).map((p) => p.path)).toContain(
      'record 5, positions 30-39 (Amount)',
    );
    const lines = sound.split('\n');
    expect(refusal(lines.slice(0, 10).join('\n'))).toEqual([
      { path: 'record 10', message: 'the file ends without a file control (record type 9)' },
    ]);
    expect(refusal([lines[0], lines[2], ...lines.slice(1)].join('\n'))[0]).toEqual({
      path: 'record 2',
      message: 'record type 6 here; expected a batch header (5) before entries',
    });
    expect(refusal(editRecord(sound, 3, 79, '0'))).toEqual([
      {
        path: 'record 3, positions 79-79 (Addenda Record Indicator)',
        message: 'is 0 but the entry has 1 addenda records',
      },
    ]);
    expect(refusal(editRecord(sound, 11, 8, '000003'))[0]!.path).toBe('record 11, positions 8-13 (Block Count)');
    expect(refusal('')).toEqual([{ path: 'record 1', message: 'the file is empty' }]);
    expect(refusal(sound.replace('JANE DOE', 'JANE DÖE'))).toEqual([
      { path: 'record 3', message: 'holds a byte outside printable ASCII' },
    ]);
  });

  it('reads records that follow each other without line breaks', () => {
    const unbroken = payrollFile(createdAt).replace(/\n/g, '');
    expect(document(unbroken).items).toHaveLength(4);
  });

  it('rejects an entry of an unsupported SEC code or a return without its addenda at their records', () => {
    const web = nachaFile(createdAt, [
      {
        sec: 'WEB',
        companyName: 'SHOP',
        companyId: '9999999999',
        description: 'ORDER',
        effectiveDate: '261125',
        odfi: ODFI,
        batchNumber: 1,
        entries: [
          { code: '27', routing: '091000019', account: '1', amountCents: 100n, name: 'A', sequence: 1 },
          { code: '26', routing: '091000019', account: '2', amountCents: 100n, name: 'B', sequence: 2 },
        ],
      },
    ]);
    const items = document(web).items;
    expect(items.map((i) => i.problems.map((p) => p.path))).toEqual([
      ['record 2, positions 51-53 (Standard Entry Class Code)'],
      ['record 2, positions 51-53 (Standard Entry Class Code)', 'record 4, positions 2-3 (Transaction Code)'],
    ]);
  });
});

describe('NachaReader: read in chunks', () => {
  const chunked = (bytes: Buffer, sizes: readonly number[], fresh = false): ChannelParse => {
    let reader = new NachaReader({ hasher: sha256Hasher });
    const items = [];
    for (let at = 0, i = 0; at < bytes.length; at += sizes[i % sizes.length]!, i++) {
      if (fresh) reader = new NachaReader({ hasher: sha256Hasher });
      items.push(...reader.push(bytes.subarray(at, at + sizes[i % sizes.length]!)));
    }
    const end = reader.end();
    if (!end.verdict.ok) return end.verdict;
    const { format, messageId } = end.verdict;
    return { ok: true, document: { format, messageId, items: [...items, ...end.items] } };
  };
  const files = [
    payrollFile(createdAt),
    payrollFile(createdAt).replaceAll('\n', '\r\n'),
    payrollFile(createdAt).replaceAll('\n', ''),
    editRecord(payrollFile(createdAt), 5, 30, '0000004568'),
  ].map((text) => Buffer.from(text, 'latin1'));

  it('gives what a whole read gives, wherever the chunks break', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }),
        (bytes, sizes) => {
          expect(chunked(bytes, sizes)).toEqual(parseNacha(bytes, { hasher: sha256Hasher }));
        },
      ),
      { numRuns: 200, seed: 13 },
    );
    // Negative control: a reader that forgets what it read between chunks is caught by the same comparison.
    expect(chunked(files[0]!, [100])).not.toEqual(chunked(files[0]!, [100], true));
  });
});
