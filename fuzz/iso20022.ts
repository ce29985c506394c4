import fc from 'fast-check';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import { PAN_IN_REFERENCE } from '../ingest/domain/channels/channel.js';
import { parseIso20022 } from '../ingest/domain/channels/iso20022/messages.js';
import { containsPan } from '../platform/pan.js';
import { currencyExponents, formatMinorUnits } from '../schemas/currencies.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the ISO 20022 channel parser (ingest/domain/channels/iso20022/): any bytes give a document or a
 * refusal, never a throw; every item is either a request or located problems; no reference holds a card number and
 * no message quotes one; and an amount written with the currency's exponent of decimals arrives as exactly those
 * minor units.
 */
export type ParseIso20022 = typeof parseIso20022;

const parseWith =
  (parse: ParseIso20022) =>
  (bytes: Uint8Array): ReturnType<ParseIso20022> =>
    parse(bytes, { hasher: sha256Hasher });

/** A pain.001.001.09 of one transfer, its pieces chosen by the fuzzer. */
function pain001(parts: {
  msgId: string;
  endToEndId: string;
  amount: string;
  ccy: string;
  remittance: string;
}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>
<GrpHdr><MsgId>${parts.msgId}</MsgId><CreDtTm>2026-11-24T08:30:00Z</CreDtTm><NbOfTxs>1</NbOfTxs></GrpHdr>
<PmtInf><PmtInfId>P-1</PmtInfId><PmtMtd>TRF</PmtMtd><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
<CdtTrfTxInf><PmtId><EndToEndId>${parts.endToEndId}</EndToEndId></PmtId>
<Amt><InstdAmt Ccy="${parts.ccy}">${parts.amount}</InstdAmt></Amt>
<CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>
<RmtInf><Ustrd>${parts.remittance}</Ustrd></RmtInf></CdtTrfTxInf></PmtInf>
</CstmrCdtTrfInitn></Document>`;
}

const xmlText = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[<&]/g, '')),
  fc.constantFrom('000123', '4111111111111111', 'E2E 4111 1111 1111 1111', '', ' ', '&amp;', '&lol;', '12.5'),
);
const documentText = fc
  .record({
    msgId: xmlText,
    endToEndId: xmlText,
    amount: fc.oneof(xmlText, fc.constantFrom('1.00', '0', '-1', '1e3', '.5', '00012.3', '1.234567')),
    ccy: fc.constantFrom('EUR', 'JPY', 'BHD', 'XXX', 'eur', ''),
    remittance: xmlText,
  })
  .map(pain001);
// Whole files, files cut anywhere or with a byte changed, markup fragments, or any bytes at all.
const bytes = fc.oneof(
  documentText.map((text) => Buffer.from(text, 'utf8')),
  fc.tuple(documentText, fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % (text.length + 1)), 'utf8')),
  fc
    .tuple(documentText, fc.nat(), fc.constantFrom('<', '>', '/', '"', '&', '<!DOCTYPE x>', '<X>', '\u0000'))
    .map(([text, at, insert]) => {
      const i = at % (text.length + 1);
      return Buffer.from(text.slice(0, i) + insert + text.slice(i), 'utf8');
    }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

const quotesDigits = (text: string): boolean => /\d{12,}/.test(text.replace(/[ -]/g, ''));

export function iso20022TotalityTarget(parse: ParseIso20022 = parseIso20022): FuzzTarget {
  const read = parseWith(parse);
  return defineTarget('ISO 20022 parsing of any bytes', () =>
    fc.property(bytes, (input) => {
      const parsed = read(input);
      if (!parsed.ok) {
        if (parsed.problems.length === 0) throw new Error('a refusal without a problem');
        for (const p of parsed.problems)
          if (quotesDigits(p.message)) throw new Error(`refusal quotes the input: ${p.message}`);
        return;
      }
      if (containsPan(parsed.document.messageId)) throw new Error('a message id with a card number was read');
      for (const item of parsed.document.items) {
        if ((item.request === undefined) === (item.problems.length === 0))
          throw new Error(`item at ${item.location}: a request and problems, or neither`);
        if (!item.location.startsWith('/Document/')) throw new Error(`item location ${item.location}`);
        for (const p of item.problems) {
          if (!p.path.startsWith('/Document/')) throw new Error(`problem at ${p.path}, not an element path`);
          if (quotesDigits(p.message)) throw new Error(`problem quotes the input: ${p.message}`);
        }
        for (const [name, value] of Object.entries(item.sourceDocument.references))
          if (containsPan(value)) throw new Error(`reference ${name} keeps a card number`);
        const endToEndId = item.request?.bankTransfer?.endToEndId;
        if (endToEndId !== undefined && containsPan(endToEndId))
          throw new Error(`EndToEndId with a card number not refused (${PAN_IN_REFERENCE})`);
      }
    }),
  );
}

const currency = fc.constantFrom(...Object.keys(currencyExponents));

/** Any minor units, written with the currency's exponent of decimals, arrive as exactly those minor units. */
export function iso20022ExactAmountTarget(parse: ParseIso20022 = parseIso20022): FuzzTarget {
  const read = parseWith(parse);
  return defineTarget('ISO 20022 amounts are exact minor units', () =>
    fc.property(currency, fc.bigInt({ min: 1n, max: 10n ** 17n }), (ccy, minor) => {
      const amount = formatMinorUnits(minor, ccy);
      const parsed = read(
        Buffer.from(pain001({ msgId: 'M-1', endToEndId: 'E-1', amount, ccy, remittance: 'r' }), 'utf8'),
      );
      if (!parsed.ok) throw new Error(`refused: ${parsed.problems[0]?.message}`);
      const request = parsed.document.items[0]?.request;
      if (request === undefined)
        throw new Error(`${amount} ${ccy} refused: ${parsed.document.items[0]?.problems[0]?.message}`);
      if (request.amount.currency !== ccy || request.amount.value !== amount)
        throw new Error(`${amount} ${ccy} arrived as ${request.amount.value} ${request.amount.currency}`);
    }),
  );
}

export const iso20022Targets: readonly FuzzTarget[] = [iso20022TotalityTarget(), iso20022ExactAmountTarget()];
