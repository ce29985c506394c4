import type { FieldProblem } from '../../../../platform/errors.js';
import type { TransactionRequest } from '../../../../schemas/api.js';
import { formatMinorUnits } from '../../../../schemas/currencies.js';
import type { ContentHasher } from '../../../ports.js';
import {
  type ChannelFileReader,
  type ChannelFileVerdict,
  type ChannelItem,
  type ChannelParse,
  ProblemList,
  channelTransactionId,
  checkedReferences,
  readWhole,
} from '../channel.js';

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
  /** Read for the verdict alone: entries are checked and counted, never mapped (the channel routes' first read). */
  readonly verdictOnly?: boolean;
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

/** An open batch: its header and what its entries add up to so far (count, entry hash, debit and credit cents). */
interface Batch {
  readonly header: NachaRecord;
  totals: Totals;
}

interface Totals {
  count: bigint;
  hash: bigint;
  debits: bigint;
  credits: bigint;
}

const noTotals = (): Totals => ({ count: 0n, hash: 0n, debits: 0n, credits: 0n });

/**
 * Parses a NACHA file held whole (tests, the simulator, the fuzzers): `NachaReader` over one chunk. The whole file
 * is refused, with each problem at its record number (and positions), when it is not 94-character ASCII records in
 * the file's order, or when a batch or file control disagrees with what it controls (entry/addenda count, entry
 * hash, debit and credit totals, batch and block counts); otherwise every entry detail becomes an item located at
 * its record number.
 */
export function parseNacha(bytes: Uint8Array, options: NachaOptions): ChannelParse {
  return readWhole(new NachaReader(options), bytes);
}

/**
 * A NACHA file read record by record as it arrives, holding one batch header and one entry with its addenda at a
 * time: items come out as their entries complete, while the file is sound so far; the counts, entry hashes and
 * totals of each batch are checked at its batch control and the file's at the end, so the verdict (`end`) is the
 * only word on whether the file may be taken. Problems are reported in the order of precedence of a whole read:
 * record lengths and bytes first, then the records' order, then the controls.
 */
export class NachaReader implements ChannelFileReader {
  /** Characters of a record not yet ended by a line break (or not yet 94 long, without line breaks). */
  private pending = '';
  /** Without line breaks, records follow each other unbroken (as some banks send them); decided by the first 95. */
  private unbroken: boolean | undefined;
  private emptyLines = 0;
  private recordCount = 0;
  private lineBreaks = 0;
  private badByte: FieldProblem | undefined;
  private readonly lengthProblems = new ProblemList();
  private readonly orderProblems = new ProblemList();
  private readonly indicatorProblems = new ProblemList();
  private readonly controlProblems = new ProblemList();
  private headerProblem: FieldProblem | undefined;
  private fileHeader: NachaRecord | undefined;
  private context: EntryContext | undefined;
  private batch: Batch | undefined;
  private batchCount = 0;
  private entry: Entry | undefined;
  private fileControl: NachaRecord | undefined;
  private fillers = 0;
  private readonly fileTotals = noTotals();
  private items: ChannelItem[] = [];

  constructor(private readonly options: NachaOptions) {}

  push(chunk: Uint8Array): ChannelItem[] {
    if (this.badByte !== undefined) return [];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x0a) this.lineBreaks++;
      else if (byte > 0x7e || (byte < 0x20 && byte !== 0x0d)) {
        this.badByte = { path: `record ${this.lineBreaks + 1}`, message: 'holds a byte outside printable ASCII' };
        return [];
      }
    }
    this.pending += Buffer.from(chunk).toString('latin1');
    this.split(false);
    return this.take();
  }

  end(): { items: ChannelItem[]; verdict: ChannelFileVerdict } {
    if (this.badByte !== undefined) return { items: [], verdict: { ok: false, problems: [this.badByte] } };
    this.split(true);
    const items = this.take();
    return { items, verdict: this.verdict() };
  }

  private take(): ChannelItem[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  private split(atEnd: boolean): void {
    if (this.unbroken === undefined) {
      if (this.pending.length <= RECORD_LENGTH && !atEnd) return;
      const first = this.pending.slice(0, RECORD_LENGTH + 1);
      this.unbroken = !/[\r\n]/.test(first) && (this.pending.length > RECORD_LENGTH || first.length === RECORD_LENGTH);
    }
    if (this.unbroken) {
      let at = 0;
      for (; this.pending.length - at >= RECORD_LENGTH; at += RECORD_LENGTH)
        this.line(this.pending.slice(at, at + RECORD_LENGTH));
      this.pending = this.pending.slice(at);
      if (atEnd && this.pending !== '') this.line(this.pending);
      return;
    }
    let at = 0;
    for (let nl = this.pending.indexOf('\n'); nl >= 0; at = nl + 1, nl = this.pending.indexOf('\n', at)) {
      const line = this.pending.slice(at, nl);
      this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    this.pending = this.pending.slice(at);
    if (atEnd && this.pending !== '') this.line(this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending);
  }

  /** One line; empty lines count only when a record follows them (a file may end in line breaks). */
  private line(text: string): void {
    if (text === '' && !this.unbroken) {
      this.emptyLines++;
      return;
    }
    for (; this.emptyLines > 0; this.emptyLines--) this.record('');
    this.record(text);
  }

  private record(text: string): void {
    const record = { number: ++this.recordCount, text };
    if (this.unbroken === true && /[\r\n]/.test(text)) {
      this.lengthProblems.push({
        path: `record ${record.number}`,
        message: 'holds a line break; the records before it had none',
      });
      return;
    }
    if (text.length !== RECORD_LENGTH) {
      this.lengthProblems.push({
        path: `record ${record.number}`,
        message: `has ${text.length} characters; records have 94`,
      });
      return;
    }
    if (!this.lengthProblems.empty || this.headerProblem !== undefined) return;
    if (this.fileHeader === undefined) this.header(record);
    else this.grammar(record);
  }

  private header(record: NachaRecord): void {
    if (record.text[0] !== '1') {
      this.headerProblem = { path: 'record 1', message: 'must be the file header (record type 1)' };
      return;
    }
    this.fileHeader = record;
    if (field(record, 35, 37) !== '094')
      this.orderProblems.push({ path: at(record, 35, 37, 'Record Size'), message: 'must be 094' });
    const fileId = fileIdOf(record);
    if (fileId !== undefined) this.context = { fileId, createdAt: fileCreation(record), hasher: this.options.hasher };
  }

  /** The file's grammar, 1 (5 (6 7*)* 8)* 9 9…; every record out of place is a problem. */
  private grammar(record: NachaRecord): void {
    const misplaced = (expected: string): void => {
      this.orderProblems.push({
        path: `record ${record.number}`,
        message: `record type ${record.text[0]} here; expected ${expected}`,
      });
    };
    const type = record.text[0];
    if (this.fileControl !== undefined) {
      if (record.text === '9'.repeat(RECORD_LENGTH)) this.fillers++;
      else misplaced('only filler records (all nines) after the file control');
      return;
    }
    if (type !== '7') this.closeEntry();
    if (type === '5') {
      if (this.batch !== undefined) misplaced('the batch control (8) of the open batch');
      this.batch = { header: record, totals: noTotals() };
      this.batchCount++;
    } else if (type === '6') {
      if (this.batch === undefined) misplaced('a batch header (5) before entries');
      else this.entry = { record, addenda: [] };
    } else if (type === '7') {
      if (this.entry === undefined) misplaced('an entry detail (6) before its addenda');
      else this.entry.addenda.push(record);
    } else if (type === '8') {
      if (this.batch === undefined) misplaced('a batch header (5) before a batch control');
      else this.checkBatch(this.batch, record);
      this.batch = undefined;
    } else if (type === '9') {
      if (this.batch !== undefined) misplaced('the batch control (8) of the open batch');
      this.batch = undefined;
      this.fileControl = record;
    } else misplaced('a record type of 1, 5, 6, 7, 8 or 9');
  }

  /** The open entry is complete: its addenda indicator, its part of the totals, and its item while all is sound. */
  private closeEntry(): void {
    const entry = this.entry;
    const batch = this.batch;
    this.entry = undefined;
    if (entry === undefined || batch === undefined) return;
    const indicator = field(entry.record, 79, 79);
    if (indicator !== '0' && indicator !== '1')
      this.indicatorProblems.push({
        path: at(entry.record, 79, 79, 'Addenda Record Indicator'),
        message: 'must be 0 or 1',
      });
    else if ((indicator === '1') !== entry.addenda.length > 0)
      this.indicatorProblems.push({
        path: at(entry.record, 79, 79, 'Addenda Record Indicator'),
        message: `is ${indicator} but the entry has ${entry.addenda.length} addenda records`,
      });
    const problems: FieldProblem[] = [];
    const totals = entryTotals(entry, problems);
    for (const problem of problems) this.controlProblems.push(problem);
    for (const sum of [batch.totals, this.fileTotals]) {
      sum.count += totals.count;
      sum.hash += totals.hash;
      sum.debits += totals.debits;
      sum.credits += totals.credits;
    }
    if (problems.length === 0 && this.context !== undefined && this.options.verdictOnly !== true && this.sound())
      this.items.push(entryItem(entry, batch.header, this.context));
  }

  private sound(): boolean {
    return (
      this.lengthProblems.empty &&
      this.orderProblems.empty &&
      this.indicatorProblems.empty &&
      this.controlProblems.empty
    );
  }

  private checkBatch(batch: Batch, control: NachaRecord): void {
    const problems = this.controlProblems;
    const check = (from: number, to: number, name: string, expected: bigint): void => {
      const found = numberAt(control, from, to, name, problems);
      if (found >= 0n && found !== expected)
        problems.push({
          path: at(control, from, to, name),
          message: `is ${found}; the batch's entries give ${expected}`,
        });
    };
    const totals = batch.totals;
    check(5, 10, 'Entry/Addenda Count', totals.count);
    check(11, 20, 'Entry Hash', totals.hash % HASH_MODULUS);
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
  }

  private verdict(): ChannelFileVerdict {
    if (this.recordCount === 0) return { ok: false, problems: [{ path: 'record 1', message: 'the file is empty' }] };
    if (!this.lengthProblems.empty) return { ok: false, problems: this.lengthProblems.list() };
    if (this.headerProblem !== undefined) return { ok: false, problems: [this.headerProblem] };
    this.closeEntry();
    const control = this.fileControl;
    if (control === undefined)
      this.orderProblems.push({
        path: `record ${this.recordCount}`,
        message: 'the file ends without a file control (record type 9)',
      });
    const order = [...this.orderProblems.list(), ...this.indicatorProblems.list()];
    if (order.length > 0 || control === undefined) return { ok: false, problems: order };
    const problems = this.controlProblems;
    const check = (from: number, to: number, name: string, expected: bigint): void => {
      const found = numberAt(control, from, to, name, problems);
      if (found >= 0n && found !== expected)
        problems.push({
          path: at(control, from, to, name),
          message: `is ${found}; the file's records give ${expected}`,
        });
    };
    check(2, 7, 'Batch Count', BigInt(this.batchCount));
    // Ten records a block; the last block may be padded with filler records or left short.
    const blocks = BigInt(Math.ceil(this.recordCount / 10));
    const found = numberAt(control, 8, 13, 'Block Count', problems);
    if (found >= 0n && found !== blocks)
      problems.push({
        path: at(control, 8, 13, 'Block Count'),
        message: `is ${found}; ${this.recordCount} records (${this.fillers} filler) make ${blocks} blocks of ten`,
      });
    check(14, 21, 'Entry/Addenda Count', this.fileTotals.count);
    check(22, 31, 'Entry Hash', this.fileTotals.hash % HASH_MODULUS);
    check(32, 43, 'Total Debit Entry Dollar Amount in File', this.fileTotals.debits);
    check(44, 55, 'Total Credit Entry Dollar Amount in File', this.fileTotals.credits);
    if (this.context === undefined)
      problems.push({
        path: `record ${this.fileHeader!.number}`,
        message: 'needs an Immediate Origin, File Creation Date and Time and File ID Modifier (they name the file)',
      });
    if (!problems.empty || this.context === undefined) return { ok: false, problems: problems.list() };
    return { ok: true, format: NACHA_FORMAT, messageId: this.context.fileId };
  }
}

/** The layouts keep the rightmost ten digits of the entry hash. */
const HASH_MODULUS = 10_000_000_000n;

/** A numeric control field, or a problem at its positions. */
function numberAt(
  record: NachaRecord,
  from: number,
  to: number,
  name: string,
  problems: { push(problem: FieldProblem): void },
): bigint {
  const text = field(record, from, to);
  if (isDigits(text)) return BigInt(text);
  problems.push({ path: at(record, from, to, name), message: 'must be digits' });
  return -1n;
}

/** What one entry adds to its batch and file: its records, its RDFI id (the entry hash) and its debit or credit. */
function entryTotals({ record, addenda }: Entry, problems: FieldProblem[]): Totals {
  const totals = noTotals();
  totals.count = 1n + BigInt(addenda.length);
  const rdfi = numberAt(record, 4, 11, 'Receiving DFI Identification', problems);
  const amount = numberAt(record, 30, 39, 'Amount', problems);
  if (rdfi >= 0n) totals.hash = rdfi;
  const code = field(record, 2, 3);
  // The second digit says the side: 1–4 credits, 6–9 debits (returns keep their original's side: 21 credit).
  if (!knownCodes.has(code))
    problems.push({
      path: at(record, 2, 3, 'Transaction Code'),
      message: `${code} is not a supported transaction code`,
    });
  else if (amount < 0n) return totals;
  else if ('1234'.includes(code[1]!)) totals.credits = amount;
  else totals.debits = amount;
  return totals;
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
function entryItem(entry: Entry, header: NachaRecord, context: EntryContext): ChannelItem {
  const { record } = entry;
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
