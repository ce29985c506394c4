import type { FieldProblem } from '../../../../platform/errors.js';
import type { TransactionRequest } from '../../../../schemas/api.js';
import { formatMinorUnits } from '../../../../schemas/currencies.js';
import type { ContentHasher } from '../../../ports.js';
import { type ChannelItem, type ChannelParse, channelTransactionId, checkedReferences } from '../channel.js';

/**
 * NACHA ACH files → channel items. Positions follow the published NACHA Operating Rules record layouts (Appendix
 * Three): every record 94 characters; a file header (1), batches of a batch header (5), entry details (6) each with
 * its addenda (7) and a batch control (8), then a file control (9) and optional filler records of nines. Amounts
 * are already integer cents (USD) and stay integers. A file whose structure, record lengths, counts, entry hashes
 * or totals do not add up is refused as a whole with the record numbers at fault; inside a sound file a bad entry
 * is rejected at its record number while the others go through.
 */

export const NACHA_FORMAT = 'nacha';
/** Transaction ids of NACHA items: `nacha-` and 40 hex characters (channel.ts `channelTransactionId`). */
export const NACHA_ID_PREFIX = 'nacha';
const RECORD_LENGTH = 94;
/** SEC codes whose entries carry the fields read here (PPD: consumer, CCD: corporate). */
export const supportedSecCodes = ['PPD', 'CCD'] as const;

/** Transaction codes (NACHA Appendix Three, Entry Detail field 2), by what the entry does with money. */
const creditCodes = new Set(['22', '32', '42', '52']);
const debitCodes = new Set(['27', '37', '47', '55']);
const prenoteCodes = new Set(['23', '28', '33', '38', '43', '48', '53']);
/** Automated returns (and notifications of change) of a credit / of a debit to the receiver's account. */
const returnOfCreditCodes = new Set(['21', '31', '41', '51']);
const returnOfDebitCodes = new Set(['26', '36', '46', '56']);
const knownCodes = new Set([
  ...creditCodes,
  ...debitCodes,
  ...prenoteCodes,
  ...returnOfCreditCodes,
  ...returnOfDebitCodes,
]);

export interface NachaOptions {
  readonly hasher: ContentHasher;
}

/** One 1-based record number with its 94 characters. */
interface NachaRecord {
  readonly number: number;
  readonly text: string;
}

/** A field by its 1-based inclusive positions, as the layouts number them. */
const field = (record: NachaRecord, from: number, to: number): string => record.text.slice(from - 1, to);
const at = (record: NachaRecord, from: number, to: number, name: string): string =>
  `record ${record.number}, positions ${from}-${to} (${name})`;
const isDigits = (text: string): boolean => /^[0-9]+$/.test(text);

interface Entry {
  readonly record: NachaRecord;
  readonly addenda: NachaRecord[];
}

interface Batch {
  readonly header: NachaRecord;
  readonly entries: Entry[];
  control?: NachaRecord;
}

/**
 * Parses a NACHA file. The whole file is refused, with each problem at its record number (and positions), when it
 * is not 94-character ASCII records in the file's order, or when a batch or file control disagrees with what it
 * controls (entry/addenda count, entry hash, debit and credit totals, batch and block counts); otherwise every
 * entry detail becomes an item located at its record number.
 */
export function parseNacha(bytes: Uint8Array, options: NachaOptions): ChannelParse {
  const split = records(bytes);
  if (!split.ok) return split;
  const structure = batchesOf(split.records);
  if (!structure.ok) return structure;
  const { fileHeader, batches, fileControl, fillers } = structure;
  const problems = [
    ...batches.flatMap(batchControlProblems),
    ...fileControlProblems(fileControl, batches, split.records.length, fillers),
  ];
  const fileId = fileIdOf(fileHeader);
  if (fileId === undefined)
    problems.push({
      path: `record ${fileHeader.number}`,
      message: 'needs an Immediate Origin, File Creation Date and Time and File ID Modifier (they name the file)',
    });
  if (problems.length > 0 || fileId === undefined) return { ok: false, problems };
  const createdAt = fileCreation(fileHeader);
  const items = batches.flatMap((batch) =>
    batch.entries.map((entry) => entryItem(entry, batch, { fileId, createdAt, hasher: options.hasher })),
  );
  return { ok: true, document: { format: NACHA_FORMAT, messageId: fileId, items } };
}

function records(bytes: Uint8Array): { ok: true; records: NachaRecord[] } | { ok: false; problems: FieldProblem[] } {
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i]! > 0x7e || (bytes[i]! < 0x20 && bytes[i] !== 0x0a && bytes[i] !== 0x0d)) {
      const record = Buffer.from(bytes.subarray(0, i)).toString('latin1').split('\n').length;
      return { ok: false, problems: [{ path: `record ${record}`, message: 'holds a byte outside printable ASCII' }] };
    }
  const text = Buffer.from(bytes).toString('latin1');
  // Records are separated by line breaks, or (as some banks send them) follow each other unbroken.
  const lines =
    !text.includes('\n') && text.length > 0 && text.length % RECORD_LENGTH === 0
      ? (text.match(new RegExp(`.{${RECORD_LENGTH}}`, 'g')) ?? [])
      : text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { ok: false, problems: [{ path: 'record 1', message: 'the file is empty' }] };
  const problems: FieldProblem[] = [];
  lines.forEach((line, i) => {
    if (line.length !== RECORD_LENGTH)
      problems.push({ path: `record ${i + 1}`, message: `has ${line.length} characters; records have 94` });
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, records: lines.map((line, i) => ({ number: i + 1, text: line })) };
}

type Structure =
  | {
      ok: true;
      fileHeader: NachaRecord;
      batches: Batch[];
      fileControl: NachaRecord;
      fillers: number;
    }
  | { ok: false; problems: FieldProblem[] };

/** Groups the records by the file's grammar: 1 (5 (6 7*)* 8)* 9 9…; every record out of place is a problem. */
function batchesOf(all: readonly NachaRecord[]): Structure {
  const problems: FieldProblem[] = [];
  const misplaced = (record: NachaRecord, expected: string): void => {
    problems.push({
      path: `record ${record.number}`,
      message: `record type ${record.text[0]} here; expected ${expected}`,
    });
  };
  const [fileHeader, ...rest] = all;
  if (fileHeader === undefined || fileHeader.text[0] !== '1') {
    return { ok: false, problems: [{ path: 'record 1', message: 'must be the file header (record type 1)' }] };
  }
  if (field(fileHeader, 35, 37) !== '094')
    problems.push({ path: at(fileHeader, 35, 37, 'Record Size'), message: 'must be 094' });
  const batches: Batch[] = [];
  let batch: Batch | undefined;
  let fileControl: NachaRecord | undefined;
  let fillers = 0;
  for (const record of rest) {
    const type = record.text[0];
    if (fileControl !== undefined) {
      if (record.text === '9'.repeat(RECORD_LENGTH)) fillers++;
      else misplaced(record, 'only filler records (all nines) after the file control');
      continue;
    }
    if (type === '5') {
      if (batch !== undefined) misplaced(record, 'the batch control (8) of the open batch');
      batch = { header: record, entries: [] };
      batches.push(batch);
    } else if (type === '6') {
      if (batch === undefined) misplaced(record, 'a batch header (5) before entries');
      else batch.entries.push({ record, addenda: [] });
    } else if (type === '7') {
      const entry = batch?.entries[batch.entries.length - 1];
      if (entry === undefined) misplaced(record, 'an entry detail (6) before its addenda');
      else entry.addenda.push(record);
    } else if (type === '8') {
      if (batch === undefined) misplaced(record, 'a batch header (5) before a batch control');
      else batch.control = record;
      batch = undefined;
    } else if (type === '9') {
      if (batch !== undefined) misplaced(record, 'the batch control (8) of the open batch');
      batch = undefined;
      fileControl = record;
    } else misplaced(record, 'a record type of 1, 5, 6, 7, 8 or 9');
  }
  if (fileControl === undefined)
    problems.push({ path: `record ${all.length}`, message: 'the file ends without a file control (record type 9)' });
  for (const b of batches)
    for (const entry of b.entries) {
      const indicator = field(entry.record, 79, 79);
      if (indicator !== '0' && indicator !== '1')
        problems.push({ path: at(entry.record, 79, 79, 'Addenda Record Indicator'), message: 'must be 0 or 1' });
      else if ((indicator === '1') !== entry.addenda.length > 0)
        problems.push({
          path: at(entry.record, 79, 79, 'Addenda Record Indicator'),
          message: `is ${indicator} but the entry has ${entry.addenda.length} addenda records`,
        });
    }
  if (problems.length > 0 || fileControl === undefined) return { ok: false, problems };
  return { ok: true, fileHeader, batches, fileControl, fillers };
}

/** A numeric control field, or a problem at its positions. */
function numberAt(record: NachaRecord, from: number, to: number, name: string, problems: FieldProblem[]): bigint {
  const text = field(record, from, to);
  if (isDigits(text)) return BigInt(text);
  problems.push({ path: at(record, from, to, name), message: 'must be digits' });
  return -1n;
}

/** What a set of entries adds up to: entry/addenda count, entry hash (sum of RDFI ids), debit and credit cents. */
function totalsOf(
  entries: readonly Entry[],
  problems: FieldProblem[],
): { count: bigint; hash: bigint; debits: bigint; credits: bigint } {
  let count = 0n;
  let hash = 0n;
  let debits = 0n;
  let credits = 0n;
  for (const { record, addenda } of entries) {
    count += 1n + BigInt(addenda.length);
    hash += numberAt(record, 4, 11, 'Receiving DFI Identification', problems);
    const amount = numberAt(record, 30, 39, 'Amount', problems);
    const code = field(record, 2, 3);
    // The second digit says the side: 1–4 credits, 6–9 debits (returns keep their original's side: 21 credit).
    if (!knownCodes.has(code))
      problems.push({
        path: at(record, 2, 3, 'Transaction Code'),
        message: `${code} is not a supported transaction code`,
      });
    else if ('1234'.includes(code[1]!)) credits += amount;
    else debits += amount;
  }
  // The layouts keep the rightmost ten digits of the hash.
  return { count, hash: hash % 10_000_000_000n, debits, credits };
}

function batchControlProblems(batch: Batch): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const control = batch.control;
  if (control === undefined)
    return [{ path: `record ${batch.header.number}`, message: 'this batch has no batch control (record type 8)' }];
  const totals = totalsOf(batch.entries, problems);
  const check = (from: number, to: number, name: string, expected: bigint): void => {
    const found = numberAt(control, from, to, name, problems);
    if (found >= 0n && found !== expected)
      problems.push({
        path: at(control, from, to, name),
        message: `is ${found}; the batch's entries give ${expected}`,
      });
  };
  check(5, 10, 'Entry/Addenda Count', totals.count);
  check(11, 20, 'Entry Hash', totals.hash);
  check(21, 32, 'Total Debit Entry Dollar Amount', totals.debits);
  check(33, 44, 'Total Credit Entry Dollar Amount', totals.credits);
  if (field(control, 2, 4) !== field(batch.header, 2, 4))
    problems.push({
      path: at(control, 2, 4, 'Service Class Code'),
      message: `must repeat the batch header's (record ${batch.header.number})`,
    });
  if (field(control, 88, 94) !== field(batch.header, 88, 94))
    problems.push({
      path: at(control, 88, 94, 'Batch Number'),
      message: `must repeat the batch header's (record ${batch.header.number})`,
    });
  return problems;
}

function fileControlProblems(
  control: NachaRecord,
  batches: readonly Batch[],
  recordCount: number,
  fillers: number,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const entries = batches.flatMap((b) => b.entries);
  const totals = totalsOf(entries, []);
  const check = (from: number, to: number, name: string, expected: bigint): void => {
    const found = numberAt(control, from, to, name, problems);
    if (found >= 0n && found !== expected)
      problems.push({ path: at(control, from, to, name), message: `is ${found}; the file's records give ${expected}` });
  };
  check(2, 7, 'Batch Count', BigInt(batches.length));
  // Ten records a block; the last block may be padded with filler records or left short.
  const blocks = BigInt(Math.ceil(recordCount / 10));
  const found = numberAt(control, 8, 13, 'Block Count', problems);
  if (found >= 0n && found !== blocks)
    problems.push({
      path: at(control, 8, 13, 'Block Count'),
      message: `is ${found}; ${recordCount} records (${fillers} filler) make ${blocks} blocks of ten`,
    });
  check(14, 21, 'Entry/Addenda Count', totals.count);
  check(22, 31, 'Entry Hash', totals.hash);
  check(32, 43, 'Total Debit Entry Dollar Amount in File', totals.debits);
  check(44, 55, 'Total Credit Entry Dollar Amount in File', totals.credits);
  return problems;
}

/** The file's id: Immediate Origin, File Creation Date and Time and File ID Modifier, which NACHA makes unique. */
function fileIdOf(header: NachaRecord): string | undefined {
  const origin = field(header, 14, 23).trim();
  const date = field(header, 24, 29);
  const time = field(header, 30, 33);
  const modifier = field(header, 34, 34);
  if (!/^[0-9A-Za-z]{1,10}$/.test(origin) || !isDigits(date) || !isDigits(time) || !/^[0-9A-Z]$/.test(modifier))
    return undefined;
  return `${origin}-${date}-${time}-${modifier}`;
}

/** YYMMDD (and HHMM) as an ISO date (time, UTC): the layouts give no zone; years are 20YY. */
function isoDate(yymmdd: string): string | undefined {
  if (!/^[0-9]{6}$/.test(yymmdd)) return undefined;
  const date = `20${yymmdd.slice(0, 2)}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date ? undefined : date;
}

function fileCreation(header: NachaRecord): { value: string; location: string } | undefined {
  const date = isoDate(field(header, 24, 29));
  const time = field(header, 30, 33);
  if (date === undefined || !/^([01][0-9]|2[0-3])[0-5][0-9]$/.test(time)) return undefined;
  return {
    value: `${date}T${time.slice(0, 2)}:${time.slice(2, 4)}:00Z`,
    location: at(header, 24, 33, 'File Creation Date and Time'),
  };
}

interface EntryContext {
  readonly fileId: string;
  readonly createdAt: { value: string; location: string } | undefined;
  readonly hasher: ContentHasher;
}

/** The key an entry is known by — its trace number, which a return names as the original's. */
const entryKey = (traceNumber: string): string[] => [NACHA_FORMAT, traceNumber];

/** The receiver's account: the RDFI routing number's 8 digits and the DFI account number. */
const receiverAccount = (rdfi: string, account: string): string => `ach:${rdfi}:${account}`;
/** The originator's side: the ODFI's routing digits and the company identification. */
const originatorAccount = (odfi: string, companyId: string): string => `ach-originator:${odfi}:${companyId}`;

/**
 * One entry detail as an item. A credit (22, 32, …) moves the amount from the originator to the receiver's
 * account, a debit (27, 37, …) the other way; a return (21, 26, … with addenda type 99) is booked like pacs.004's:
 * a refund of the original entry named by its trace number, with the original's payer and payee, so the ledger
 * books the money back. Prenotes and notifications of change move no money and are rejected as such.
 */
function entryItem(entry: Entry, batch: Batch, context: EntryContext): ChannelItem {
  const { record } = entry;
  const header = batch.header;
  const location = `record ${record.number}`;
  const problems: FieldProblem[] = [];
  const code = field(record, 2, 3);
  const sec = field(header, 51, 53);
  const companyId = field(header, 41, 50).trim();
  const odfi = field(header, 80, 87);
  const rdfi = field(record, 4, 11);
  const account = field(record, 13, 29).trim();
  const traceNumber = field(record, 80, 94);
  const amountCents = BigInt(field(record, 30, 39));
  const returnAddenda = entry.addenda.find((a) => field(a, 2, 3) === '99');
  const isReturn = returnOfCreditCodes.has(code) || returnOfDebitCodes.has(code);

  if (!(supportedSecCodes as readonly string[]).includes(sec))
    problems.push({
      path: at(header, 51, 53, 'Standard Entry Class Code'),
      message: `${sec} entries are not ingested; supported: ${supportedSecCodes.join(', ')}`,
    });
  if (prenoteCodes.has(code))
    problems.push({ path: at(record, 2, 3, 'Transaction Code'), message: 'a prenotification moves no money' });
  else if (isReturn && returnAddenda === undefined)
    problems.push({
      path: at(record, 2, 3, 'Transaction Code'),
      message: entry.addenda.some((a) => field(a, 2, 3) === '98')
        ? 'a notification of change (addenda type 98) moves no money'
        : 'is a return code but the entry has no return addenda (type 99)',
    });
  if (!isDigits(traceNumber)) problems.push({ path: at(record, 80, 94, 'Trace Number'), message: 'must be 15 digits' });
  if (amountCents === 0n && !prenoteCodes.has(code))
    problems.push({ path: at(record, 30, 39, 'Amount'), message: 'must be greater than zero' });

  const reason = returnAddenda === undefined ? undefined : field(returnAddenda, 4, 6);
  const originalTrace = returnAddenda === undefined ? undefined : field(returnAddenda, 7, 21);
  if (returnAddenda !== undefined) {
    if (!/^R[0-9]{2}$/.test(reason!))
      problems.push({ path: at(returnAddenda, 4, 6, 'Return Reason Code'), message: 'must be R and two digits' });
    if (!isDigits(originalTrace!))
      problems.push({
        path: at(returnAddenda, 7, 21, 'Original Entry Trace Number'),
        message: 'must be 15 digits',
      });
    if (!isReturn)
      problems.push({
        path: at(record, 2, 3, 'Transaction Code'),
        message: `${code} is not a return code (21, 26, 31, 36, 41, 46, 51, 56) but the entry has return addenda`,
      });
  }
  const remittance = entry.addenda
    .filter((a) => field(a, 2, 3) === '05')
    .map((a) => field(a, 4, 83).trim())
    .filter((text) => text !== '');
  const references = checkedReferences(
    [
      ['FileId', context.fileId, `record 1`],
      ['BatchNumber', field(header, 88, 94), at(header, 88, 94, 'Batch Number')],
      ['SEC', sec, at(header, 51, 53, 'Standard Entry Class Code')],
      ['CompanyId', companyId || undefined, at(header, 41, 50, 'Company Identification')],
      ['CompanyName', field(header, 5, 20).trim() || undefined, at(header, 5, 20, 'Company Name')],
      ['EntryDescription', field(header, 54, 63).trim() || undefined, at(header, 54, 63, 'Company Entry Description')],
      ['EffectiveEntryDate', isoDate(field(header, 70, 75)), at(header, 70, 75, 'Effective Entry Date')],
      ['TransactionCode', code, at(record, 2, 3, 'Transaction Code')],
      ['TraceNumber', traceNumber, at(record, 80, 94, 'Trace Number')],
      ['ReturnReason', reason, returnAddenda && at(returnAddenda, 4, 6, 'Return Reason Code')],
      ['OriginalTrace', originalTrace, returnAddenda && at(returnAddenda, 7, 21, 'Original Entry Trace Number')],
    ].map(([name, value, where]) => [name!, value, where ?? location] as const),
    problems,
  );
  const sourceDocument = { format: NACHA_FORMAT, references, location };
  if (problems.length > 0) return { location, sourceDocument, problems, fieldLocations: {} };

  const receiver = receiverAccount(rdfi, account);
  let payer: string;
  let payee: string;
  let originalTransactionId: string | undefined;
  if (isReturn) {
    // The original entry's sides: its ODFI starts its trace number; its RDFI is in the addenda; the return carries
    // the original company id and the receiver's account number unchanged (NACHA return entry rules).
    const originalReceiver = receiverAccount(field(returnAddenda!, 28, 35), account);
    const originalOriginator = originatorAccount(originalTrace!.slice(0, 8), companyId);
    [payer, payee] = returnOfCreditCodes.has(code)
      ? [originalOriginator, originalReceiver]
      : [originalReceiver, originalOriginator];
    originalTransactionId = channelTransactionId(NACHA_ID_PREFIX, entryKey(originalTrace!), context.hasher);
  } else {
    const originator = originatorAccount(odfi, companyId);
    [payer, payee] = creditCodes.has(code) ? [originator, receiver] : [receiver, originator];
  }
  const request: TransactionRequest = {
    transactionId: channelTransactionId(NACHA_ID_PREFIX, entryKey(traceNumber), context.hasher),
    channel: 'ach',
    kind: isReturn ? 'refund' : 'transfer',
    amount: { value: formatMinorUnits(amountCents, 'USD'), currency: 'USD' },
    payer: { accountId: payer },
    payee: { accountId: payee },
    bankTransfer: {
      scheme: 'ACH',
      endToEndId: traceNumber,
      ...(remittance.length === 0 ? {} : { remittanceInfo: remittance.join(' ') }),
    },
    channelReference: traceNumber,
    ...(originalTransactionId === undefined ? {} : { originalTransactionId }),
    ...(context.createdAt === undefined ? {} : { eventTime: context.createdAt.value }),
  };
  const accountLocation = at(record, 13, 29, 'DFI Account Number');
  const companyLocation = at(header, 41, 50, 'Company Identification');
  const credit = creditCodes.has(code) || returnOfCreditCodes.has(code);
  const fieldLocations: Record<string, string> = {
    '': location,
    '/amount': at(record, 30, 39, 'Amount'),
    '/amount/value': at(record, 30, 39, 'Amount'),
    '/payer/accountId': credit ? companyLocation : accountLocation,
    '/payee/accountId': credit ? accountLocation : companyLocation,
    '/bankTransfer/endToEndId': at(record, 80, 94, 'Trace Number'),
    '/channelReference': at(record, 80, 94, 'Trace Number'),
  };
  if (remittance.length > 0)
    fieldLocations['/bankTransfer/remittanceInfo'] = at(entry.addenda[0]!, 4, 83, 'Payment Related Information');
  if (context.createdAt !== undefined) fieldLocations['/eventTime'] = context.createdAt.location;
  return { location, request, sourceDocument, problems: [], fieldLocations };
}
