import { sha256Hasher } from '../../../adapters/crypto.js';
import { transfersCsv } from '../../../testing/csv.js';
import { type ChannelDocument, PAN_IN_REFERENCE } from '../channel.js';
import { parseColumnMapping, parseCsv } from './csv.js';

const eventTime = '2026-11-24T08:30:00Z';
function document(text: string, options: Parameters<typeof parseCsv>[1] = { hasher: sha256Hasher }): ChannelDocument {
  const parsed = parseCsv(Buffer.from(text, 'utf8'), options);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.document;
}

describe('CSV channel parser', () => {
  it('maps each row to a request, amounts kept as the decimal text sent, each located by its line', () => {
    const file = document(transfersCsv(eventTime), { hasher: sha256Hasher, fileId: 'upload-000017' });
    expect(file).toMatchObject({ format: 'csv', messageId: 'upload-000017' });
    expect(file.items.map((i) => i.location)).toEqual(['line 2', 'line 3', 'line 4', 'line 5']);
    expect(file.items.map((i) => i.request?.amount)).toEqual([
      { value: '1234.56', currency: 'EUR' },
      { value: '10.001', currency: 'EUR' },
      { value: '150000', currency: 'JPY' },
      undefined,
    ]);
    expect(file.items[0]!.request).toMatchObject({
      transactionId: 'csv-0001',
      channel: 'sepa',
      payer: { accountId: 'DE89370400440532013000' },
      bankTransfer: {
        scheme: 'SEPA_CT',
        endToEndId: 'E2E-CSV-1',
        remittanceInfo: 'Invoice 1, card 4111 1111 1111 1111',
      },
    });
    expect(file.items[0]!.sourceDocument).toEqual({
      format: 'csv',
      references: { FileId: 'upload-000017', Line: '2' },
      location: 'line 2',
    });
    expect(file.items[1]!.fieldLocations['/amount/value']).toBe('line 3, column 4 (amount)');
    expect(file.items[3]!.problems).toEqual([{ path: 'line 5', message: 'has 5 fields; the header has 11' }]);
  });

  it('knows a file without an id by its content (negative control: other content, another id)', () => {
    const a = document(transfersCsv(eventTime));
    expect(a.messageId).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(document(transfersCsv(eventTime)).messageId).toBe(a.messageId);
    expect(document(transfersCsv(eventTime, 'other')).messageId).not.toBe(a.messageId);
  });

  it('reads another layout through a column mapping', () => {
    const german = transfersCsv(eventTime).replace('amount,currency', 'Betrag,Waehrung');
    const mapping = parseColumnMapping('amount=Betrag, currency=Waehrung');
    expect(mapping.ok).toBe(true);
    const file = document(german, { hasher: sha256Hasher, columns: mapping.ok ? mapping.columns : {} });
    expect(file.items[0]!.request?.amount).toEqual({ value: '1234.56', currency: 'EUR' });
    expect(file.items[0]!.fieldLocations['/amount/value']).toBe('line 2, column 4 (Betrag)');
    // Negative control: without the mapping the header lacks the documented columns.
    expect(parseCsv(Buffer.from(german), { hasher: sha256Hasher })).toEqual({
      ok: false,
      problems: [
        { path: 'line 1', message: 'the header has no column amount' },
        { path: 'line 1', message: 'the header has no column currency' },
      ],
    });
    expect(parseColumnMapping('nonsense=X').ok).toBe(false);
  });

  it('refuses broken quoting with its line, and bytes that are not UTF-8', () => {
    expect(parseCsv(Buffer.from(`${transfersCsv(eventTime)}"open,quote\n`), { hasher: sha256Hasher })).toEqual({
      ok: false,
      problems: [{ path: 'line 6', message: 'is not valid CSV (RFC 4180)' }],
    });
    expect(parseCsv(Buffer.from([0xff, 0xfe, 0x41]), { hasher: sha256Hasher }).ok).toBe(false);
  });

  it('refuses a file id holding a card number', () => {
    const parsed = parseCsv(Buffer.from(transfersCsv(eventTime)), {
      hasher: sha256Hasher,
      fileId: 'f-4111111111111111',
    });
    expect(parsed).toEqual({ ok: false, problems: [{ path: '/headers/vigil-file-id', message: PAN_IN_REFERENCE }] });
  });
});
