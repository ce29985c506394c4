import fc from 'fast-check';
import { sha256Hasher } from '../../../adapters/crypto.js';
import {
  accounts,
  camt054,
  entityBomb,
  multiCurrencyPain001,
  pacs004,
  pacs008,
  pain001WithBadItems,
  pain001WrongNamespace,
} from '../../../testing/iso20022.js';
import { type ChannelDocument, type ChannelParse, PAN_IN_REFERENCE } from '../channel.js';
import { Iso20022Reader, parseIso20022 } from './messages.js';

const parse = (xml: string): ChannelParse => parseIso20022(Buffer.from(xml, 'utf8'), { hasher: sha256Hasher });
function document(xml: string): ChannelDocument {
  const parsed = parse(xml);
  if (!parsed.ok) throw new Error(`refused: ${JSON.stringify(parsed.problems)}`);
  return parsed.document;
}
const pain = '/Document/CstmrCdtTrfInitn';

describe('pain.001.001.09', () => {
  it('maps a multi-currency file to one request per CdtTrfTxInf with exact amounts and their element paths', () => {
    const file = document(multiCurrencyPain001());
    expect(file.format).toBe('pain.001.001.09');
    expect(file.messageId).toBe('PAIN-000123');
    expect(file.items.map((i) => i.location)).toEqual([
      `${pain}/PmtInf[1]/CdtTrfTxInf[1]`,
      `${pain}/PmtInf[1]/CdtTrfTxInf[2]`,
      `${pain}/PmtInf[2]/CdtTrfTxInf[1]`,
      `${pain}/PmtInf[2]/CdtTrfTxInf[2]`,
      `${pain}/PmtInf[2]/CdtTrfTxInf[3]`,
    ]);
    expect(file.items.map((i) => i.problems)).toEqual([[], [], [], [], []]);
    expect(file.items.map((i) => i.request?.amount)).toEqual([
      { value: '1234.56', currency: 'EUR' },
      { value: '0.01', currency: 'EUR' },
      { value: '250000.00', currency: 'USD' },
      { value: '150000', currency: 'JPY' },
      { value: '12.345', currency: 'BHD' },
    ]);
    expect(file.items.map((i) => [i.request?.channel, i.request?.bankTransfer?.scheme])).toEqual([
      ['sepa', 'SEPA_CT'],
      ['sepa', 'SEPA_CT'],
      ['wire', 'ISO20022'],
      ['wire', 'ISO20022'],
      ['wire', 'ISO20022'],
    ]);
    expect(file.items.map((i) => [i.request?.payer.accountId, i.request?.payee.accountId])).toEqual([
      [accounts.de, accounts.fr],
      [accounts.de, accounts.nl],
      [accounts.gb, 'US-ACCT-000123'],
      [accounts.gb, accounts.ch],
      [accounts.gb, accounts.be],
    ]);
    const first = file.items[0]!;
    expect(first.request).toMatchObject({
      kind: 'transfer',
      channelReference: 'eb6305c9-1f7f-49de-aed0-16487c27b42d',
      eventTime: '2026-12-07T09:30:00Z',
      bankTransfer: { endToEndId: 'E2E-0001', remittanceInfo: 'Invoice 2026-001 & 002' },
    });
    expect(first.request!.transactionId).toMatch(/^iso20022-[0-9a-f]{40}$/);
    expect(first.sourceDocument).toEqual({
      format: 'pain.001.001.09',
      location: `${pain}/PmtInf[1]/CdtTrfTxInf[1]`,
      references: {
        MsgId: 'PAIN-000123',
        PmtInfId: 'PMT-EUR-0001',
        InstrId: 'INSTR-0001',
        EndToEndId: 'E2E-0001',
        UETR: 'eb6305c9-1f7f-49de-aed0-16487c27b42d',
        ReqdExctnDt: '2026-12-08',
        DbtrAgtBIC: 'COBADEFFXXX',
        CdtrAgtBIC: 'BNPAFRPPXXX',
      },
    });
    expect(first.fieldLocations['/amount/value']).toBe(`${pain}/PmtInf[1]/CdtTrfTxInf[1]/Amt/InstdAmt`);
    expect(first.fieldLocations['/payer/accountId']).toBe(`${pain}/PmtInf[1]/DbtrAcct/Id/IBAN`);
    // Free text keeps its card number until validation masks it (validation.ts text()); ids never get that far.
    expect(file.items[1]!.request?.bankTransfer?.remittanceInfo).toBe('card 4111 1111 1111 1111 refund');
    expect(new Set(file.items.map((i) => i.request?.transactionId)).size).toBe(5);
  });

  it('derives the same transaction ids from the same file, other ids from another MsgId', () => {
    const ids = (xml: string) => document(xml).items.map((i) => i.request?.transactionId);
    expect(ids(multiCurrencyPain001())).toEqual(ids(multiCurrencyPain001()));
    // Negative control: the message id is part of every key.
    const other = ids(multiCurrencyPain001({ messageId: 'PAIN-000124' }));
    expect(other.filter((id) => ids(multiCurrencyPain001()).includes(id))).toEqual([]);
  });

  it('keeps ids as text: leading zeros survive', () => {
    const file = document(multiCurrencyPain001({ messageId: '000123' }));
    expect(file.messageId).toBe('000123');
    expect(file.items[0]!.sourceDocument.references['MsgId']).toBe('000123');
  });

  it('rejects each bad item at its element path and keeps the good ones of the same file', () => {
    const file = document(pain001WithBadItems());
    const tx = (n: number): string => `${pain}/PmtInf[1]/CdtTrfTxInf[${n}]`;
    expect(file.items.map((i) => i.request !== undefined)).toEqual([true, false, false, false, false, true]);
    expect(file.items[1]!.problems).toEqual([
      { path: `${tx(2)}/Amt/InstdAmt`, message: 'must be a decimal amount such as 12.50 (no sign or exponent)' },
    ]);
    expect(file.items[2]!.problems).toEqual([
      { path: `${tx(3)}/Amt/InstdAmt`, message: 'has 3 decimals; EUR has 2 (ISO 4217)' },
    ]);
    expect(file.items[3]!.problems).toEqual([{ path: `${tx(4)}/Amt/InstdAmt/@Ccy`, message: 'is required' }]);
    expect(file.items[4]!.problems).toEqual([{ path: `${tx(5)}/PmtId/EndToEndId`, message: PAN_IN_REFERENCE }]);
    expect(JSON.stringify(file.items[4])).not.toContain('4111111111111111');
    expect(file.items.map((i) => i.request?.amount.value)).toEqual([
      '10.00',
      undefined,
      undefined,
      undefined,
      undefined,
      '20.00',
    ]);
  });

  it('negative controls: the same items with a valid amount, two decimals, a Ccy and a plain EndToEndId are accepted', () => {
    const fixed = pain001WithBadItems()
      .replace('>12,50<', '>12.50<')
      .replace('>10.001<', '>10.01<')
      .replace('<InstdAmt>10.00</InstdAmt>', '<InstdAmt Ccy="EUR">10.00</InstdAmt>')
      .replace('E2E-4111111111111111', 'E2E-BAD-5');
    expect(document(fixed).items.map((i) => i.problems)).toEqual([[], [], [], [], [], []]);
  });

  it('refuses three decimals in EUR but takes them in BHD (exponent from the ISO 4217 table)', () => {
    const bhd = document(multiCurrencyPain001()).items[4]!;
    expect(bhd.request?.amount).toEqual({ value: '12.345', currency: 'BHD' });
    const jpyWithCents = document(multiCurrencyPain001().replace('>150000<', '>150000.5<')).items[3]!;
    expect(jpyWithCents.problems).toEqual([
      { path: `${pain}/PmtInf[2]/CdtTrfTxInf[2]/Amt/InstdAmt`, message: 'has 1 decimals; JPY has 0 (ISO 4217)' },
    ]);
  });
});

describe('file-level refusals', () => {
  it('refuses a namespace it does not read, naming the supported ones', () => {
    const parsed = parse(pain001WrongNamespace());
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems).toEqual([
      {
        path: '/Document/@xmlns',
        message:
          'is not a supported message definition; supported: pain.001.001.09, pacs.008.001.08, camt.054.001.08, pacs.004.001.09',
      },
    ]);
  });

  it('refuses a message id holding a card number (it is answered back and journalled)', () => {
    expect(parse(multiCurrencyPain001({ messageId: 'MSG-4111111111111111' }))).toEqual({
      ok: false,
      problems: [{ path: `${pain}/GrpHdr/MsgId`, message: `${PAN_IN_REFERENCE}, or control characters` }],
    });
  });

  it('refuses a DOCTYPE (entity bomb) before any parser expands it', () => {
    expect(parse(entityBomb())).toEqual({
      ok: false,
      problems: [{ path: '', message: 'must not contain a DOCTYPE or entity declarations' }],
    });
    // Negative control: without its DOCTYPE the same file is read (its reference escaped, as an undeclared entity
    // is not well-formed XML — and is refused as such, never expanded).
    const withoutDoctype = entityBomb().replace(/<!DOCTYPE[^\]]*\]>/, '');
    expect(document(withoutDoctype.replace('&lol9;', '&amp;lol9;')).messageId).toBe('&lol9;');
    expect(parse(withoutDoctype)).toMatchObject({
      ok: false,
      problems: [{ message: 'is not well-formed XML: Invalid character entity' }],
    });
  });

  it('reports XML that is not well-formed with its line and column', () => {
    const broken = multiCurrencyPain001().replace('</PmtInfId>', '</PmtInf>');
    const parsed = parse(broken);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
  });

  it('refuses nesting deeper than the limit, and bytes that are not UTF-8', () => {
    const deep = multiCurrencyPain001().replace('<Nm>Debtor Ltd</Nm>', `${'<X>'.repeat(40)}${'</X>'.repeat(40)}`);
    expect(parse(deep).ok).toBe(false);
    // Negative control: the same shape within the limit parses.
    const shallow = multiCurrencyPain001().replace('<Nm>Debtor Ltd</Nm>', `${'<X>'.repeat(5)}${'</X>'.repeat(5)}`);
    expect(parse(shallow).ok).toBe(true);
    expect(parseIso20022(Buffer.from([0x3c, 0xff, 0xfe]), { hasher: sha256Hasher })).toEqual({
      ok: false,
      problems: [{ path: '', message: 'is not valid UTF-8' }],
    });
  });

  it('reads a prefixed Document in its namespace', () => {
    const prefixed = multiCurrencyPain001()
      .replace(/<(\/?)([A-Za-z])/g, '<$1p:$2')
      .replace('xmlns="', 'xmlns:p="');
    expect(document(prefixed).items).toHaveLength(5);
  });
});

describe('pacs.008.001.08', () => {
  it('maps each CdtTrfTxInf with its IntrBkSttlmAmt, TxId and UETR', () => {
    const file = document(pacs008());
    expect(file.items.map((i) => i.request?.amount)).toEqual([
      { value: '5000.00', currency: 'EUR' },
      { value: '99.99', currency: 'GBP' },
    ]);
    expect(file.items[0]!.sourceDocument.references).toMatchObject({
      MsgId: 'PACS8-000777',
      TxId: 'P8-TX-0001',
      InstrId: 'P8-INSTR-0001',
      EndToEndId: 'P8-E2E-0001',
      UETR: '7a562c67-ca16-48ba-b074-65581be6f001',
      IntrBkSttlmDt: '2026-12-07',
    });
    expect(file.items[0]!.request?.channelReference).toBe('7a562c67-ca16-48ba-b074-65581be6f001');
  });
});

describe('camt.054.001.08', () => {
  it('turns each booked entry detail into a movement on the notified account, batched entries split', () => {
    const file = document(camt054());
    const ntry = (n: number) => `/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[${n}]`;
    expect(file.items.map((i) => i.location)).toEqual([
      `${ntry(1)}/NtryDtls[1]/TxDtls[1]`,
      `${ntry(1)}/NtryDtls[1]/TxDtls[2]`,
      `${ntry(2)}/NtryDtls[1]/TxDtls[1]`,
      `${ntry(3)}/NtryDtls[1]/TxDtls[1]`,
    ]);
    expect(
      file.items.map(
        (i) => i.request && [i.request.payer.accountId, i.request.payee.accountId, i.request.amount.value],
      ),
    ).toEqual([
      [accounts.fr, accounts.de, '100.00'],
      [accounts.nl, accounts.de, '200.00'],
      [accounts.de, accounts.be, '75.50'],
      undefined,
    ]);
    expect(file.items[3]!.problems).toEqual([
      { path: `${ntry(3)}/Sts`, message: 'only booked entries (BOOK) are ingested' },
    ]);
    expect(file.items[0]!.sourceDocument.references).toMatchObject({
      MsgId: 'CAMT54-000042',
      NtfctnId: 'NTF-0001',
      NtryRef: 'NTRY-0001',
      AcctSvcrRef: 'ASR-0001',
      CdtDbtInd: 'CRDT',
      BookgDt: '2026-12-07',
    });
  });

  it('needs each of several details to carry its own amount (negative control: a detail without one)', () => {
    const file = document(camt054().replace('<Amt Ccy="EUR">200.00</Amt>', ''));
    expect(file.items[1]!.problems).toEqual([
      { path: '/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[2]/Amt', message: 'is required' },
    ]);
  });
});

describe('pacs.004.001.09', () => {
  it('is a refund of the transfer it returns, under the id that transfer got, between the same accounts', () => {
    const original = document(multiCurrencyPain001()).items[0]!.request!;
    const [returned] = document(pacs004()).items;
    expect(returned!.problems).toEqual([]);
    expect(returned!.request).toMatchObject({
      kind: 'refund',
      originalTransactionId: original.transactionId,
      amount: { value: '1000.00', currency: 'EUR' },
      payer: { accountId: accounts.de },
      payee: { accountId: accounts.fr },
    });
    expect(returned!.sourceDocument.references).toMatchObject({
      RtrId: 'RTR-0001',
      RtrRsn: 'AC04',
      OrgnlInstrId: 'INSTR-0001',
    });
    // Negative control: a return naming another message finds another original.
    const elsewhere = document(pacs004({ originalMessageId: 'PAIN-000999' })).items[0]!.request!;
    expect(elsewhere.originalTransactionId).not.toBe(original.transactionId);
  });
});

describe('Iso20022Reader: read as it arrives', () => {
  /** A pain.001 of `blocks` × `perBlock` transfers, each with a 100-character remittance text. */
  function longPain001(blocks: number, perBlock: number, wrap?: string): string {
    const transfers = (block: number): string =>
      Array.from(
        { length: perBlock },
        (_, n) =>
          `<CdtTrfTxInf><PmtId><EndToEndId>E2E-${block}-${n}</EndToEndId></PmtId>` +
          `<Amt><InstdAmt Ccy="EUR">12.34</InstdAmt></Amt>` +
          `<CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>` +
          `<RmtInf><Ustrd>${'r'.repeat(100)}</Ustrd></RmtInf></CdtTrfTxInf>\n`,
      ).join('');
    const body = Array.from(
      { length: blocks },
      (_, b) =>
        `<PmtInf><PmtInfId>P-${b}</PmtInfId><PmtMtd>TRF</PmtMtd>` +
        `<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>\n${transfers(b)}</PmtInf>\n`,
    ).join('');
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">` +
      `<CstmrCdtTrfInitn><GrpHdr><MsgId>LONG-1</MsgId><CreDtTm>2026-11-24T08:30:00Z</CreDtTm></GrpHdr>\n` +
      (wrap === undefined ? body : `<${wrap}>${body}</${wrap}>`) +
      `</CstmrCdtTrfInitn></Document>\n`
    );
  }
  const chunksOf = (text: string, size: number): Buffer[] => {
    const bytes = Buffer.from(text, 'utf8');
    return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  };

  it('hands out each transfer as its element closes, chunk by chunk', () => {
    const chunks = chunksOf(longPain001(3, 400), 4096);
    const reader = new Iso20022Reader({ hasher: sha256Hasher });
    const perPush = chunks.map((chunk) => reader.push(chunk).length);
    const { items, verdict } = reader.end();
    expect(verdict).toEqual({ ok: true, format: 'pain.001.001.09', messageId: 'LONG-1' });
    expect(perPush.reduce((a, b) => a + b, 0) + items.length).toBe(1_200);
    // A 4 KiB chunk holds at most 4096 / 270 bytes a transfer, so 16 items; the file is 80 chunks long.
    expect(Math.max(...perPush)).toBeLessThanOrEqual(16);
    // The first chunk already ends with whole transfers; every later one adds some.
    expect(perPush.findIndex((n) => n > 0)).toBe(0);
    // Negative control: the whole file in one push comes out at once — what the measure above would catch.
    const whole = new Iso20022Reader({ hasher: sha256Hasher });
    expect(whole.push(Buffer.from(longPain001(3, 400), 'utf8'))).toHaveLength(1_200);
  });

  it('holds one transfer, its block and the group header, not the file: a file 60 times the held limit reads', () => {
    const xml = longPain001(3, 400);
    const limits = { maxDepth: 32, maxHeldChars: 5_000 };
    expect(xml.length).toBeGreaterThan(60 * limits.maxHeldChars);
    const read = parseIso20022(Buffer.from(xml, 'utf8'), { hasher: sha256Hasher, xml: limits });
    expect(read.ok && read.document.items.length).toBe(1_200);
    // Negative control: the same transfers under an element the reader does not know as a block are all held.
    const wrapped = parseIso20022(Buffer.from(longPain001(3, 400, 'Extra'), 'utf8'), {
      hasher: sha256Hasher,
      xml: limits,
    });
    expect(!wrapped.ok && wrapped.problems.map((p) => p.message)).toEqual([
      'holds more than 5000 characters at once; split the file',
    ]);
  });
});

describe('Iso20022Reader: read in chunks', () => {
  const chunked = (bytes: Buffer, sizes: readonly number[], fresh = false): ChannelParse => {
    let reader = new Iso20022Reader({ hasher: sha256Hasher });
    const items = [];
    for (let at = 0, i = 0; at < bytes.length; at += sizes[i % sizes.length]!, i++) {
      if (fresh) reader = new Iso20022Reader({ hasher: sha256Hasher });
      items.push(...reader.push(bytes.subarray(at, at + sizes[i % sizes.length]!)));
    }
    const end = reader.end();
    if (!end.verdict.ok) return end.verdict;
    const { format, messageId } = end.verdict;
    return { ok: true, document: { format, messageId, items: [...items, ...end.items] } };
  };
  // Names with two- and three-byte UTF-8 characters, so chunks also break inside a character.
  const files = [
    multiCurrencyPain001().replace('<Nm>Debtor Ltd</Nm>', '<Nm>Müller & Søn — 東京</Nm>'),
    pain001WithBadItems(),
    camt054(),
    pacs004(),
    multiCurrencyPain001().replace('</PmtInfId>', '</PmtInf>'),
  ].map((text) => Buffer.from(text, 'utf8'));

  it('gives what a whole read gives, wherever the chunks break', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        (bytes, sizes) => {
          expect(chunked(bytes, sizes)).toEqual(parseIso20022(bytes, { hasher: sha256Hasher }));
        },
      ),
      { numRuns: 200, seed: 13 },
    );
    // Negative control: a reader that forgets what it read between chunks is caught by the same comparison.
    expect(chunked(files[0]!, [100], true)).not.toEqual(parseIso20022(files[0]!, { hasher: sha256Hasher }));
  });
});
