/**
 * NACHA ACH files for tests, written field by field from the published record layouts (NACHA Operating Rules,
 * Appendix Three) — file header, batch header, entry detail, addenda (05 and the return's 99), batch control, file
 * control — with the controls (counts, entry hash, totals, block count) computed, so a malformed variant is one
 * deliberate edit away from a sound file.
 */

/** Left-justified, space-filled alphanumeric field. */
const alpha = (text: string, width: number): string => text.slice(0, width).padEnd(width, ' ');
/** Right-justified, zero-filled numeric field. */
const num = (value: bigint | number | string, width: number): string => String(value).padStart(width, '0');

export interface NachaEntrySpec {
  /** Transaction code: 22 credit / 27 debit to checking, 21 / 26 their returns, 23 a prenote, … */
  readonly code: string;
  /** The receiving bank's routing number, 9 digits (8 + check digit). */
  readonly routing: string;
  readonly account: string;
  readonly amountCents: bigint;
  readonly name: string;
  /** Trace sequence; the trace number is the batch's ODFI + this, 7 digits. */
  readonly sequence: number;
  /** An addenda type 05 with this payment related information. */
  readonly remittance?: string;
  /** An addenda type 99: the return reason and the original entry's trace number and RDFI. */
  readonly returned?: { readonly reason: string; readonly originalTrace: string; readonly originalRdfi: string };
}

export interface NachaBatchSpec {
  readonly sec: string;
  readonly companyName: string;
  readonly companyId: string;
  readonly description: string;
  /** YYMMDD */
  readonly effectiveDate: string;
  /** The originating bank's routing digits, 8. */
  readonly odfi: string;
  readonly batchNumber: number;
  readonly entries: readonly NachaEntrySpec[];
}

/** The trace number of an entry: its batch's ODFI and its sequence. */
export const traceOf = (odfi: string, sequence: number): string => `${odfi}${num(sequence, 7)}`;

const isCredit = (code: string): boolean => '1234'.includes(code[1]!);

/**
 * A whole NACHA file from its batches, every control computed, padded to blocks of ten with filler records;
 * `createdAt` gives the File Creation Date and Time (UTC), `modifier` the File ID Modifier.
 */
export function nachaFile(createdAt: Date, batches: readonly NachaBatchSpec[], modifier = 'A'): string {
  const iso = createdAt.toISOString();
  const yymmdd = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const hhmm = iso.slice(11, 13) + iso.slice(14, 16);
  const records: string[] = [
    '1' +
      '01' +
      ' 091000019' +
      ' 121042882' +
      yymmdd +
      hhmm +
      modifier +
      '094' +
      '10' +
      '1' +
      alpha('WELLS FARGO', 23) +
      alpha('VIGIL TEST BANK', 23) +
      alpha('', 8),
  ];
  let fileCount = 0n;
  let fileHash = 0n;
  let fileDebits = 0n;
  let fileCredits = 0n;
  for (const batch of batches) {
    const serviceClass = batch.entries.every((e) => isCredit(e.code))
      ? '220'
      : batch.entries.every((e) => !isCredit(e.code))
        ? '225'
        : '200';
    records.push(
      '5' +
        serviceClass +
        alpha(batch.companyName, 16) +
        alpha('', 20) +
        alpha(batch.companyId, 10) +
        batch.sec +
        alpha(batch.description, 10) +
        alpha('', 6) +
        batch.effectiveDate +
        '   ' +
        '1' +
        batch.odfi +
        num(batch.batchNumber, 7),
    );
    let count = 0n;
    let hash = 0n;
    let debits = 0n;
    let credits = 0n;
    for (const entry of batch.entries) {
      const addenda: string[] = [];
      if (entry.remittance !== undefined)
        addenda.push('7' + '05' + alpha(entry.remittance, 80) + num(1, 4) + num(entry.sequence, 7));
      if (entry.returned !== undefined)
        addenda.push(
          '7' +
            '99' +
            entry.returned.reason +
            entry.returned.originalTrace +
            alpha('', 6) +
            entry.returned.originalRdfi +
            alpha('', 44) +
            traceOf(batch.odfi, entry.sequence),
        );
      records.push(
        '6' +
          entry.code +
          entry.routing +
          alpha(entry.account, 17) +
          num(entry.amountCents, 10) +
          alpha('ID' + String(entry.sequence), 15) +
          alpha(entry.name, 22) +
          '  ' +
          (addenda.length > 0 ? '1' : '0') +
          traceOf(batch.odfi, entry.sequence),
        ...addenda,
      );
      count += 1n + BigInt(addenda.length);
      hash += BigInt(entry.routing.slice(0, 8));
      if (isCredit(entry.code)) credits += entry.amountCents;
      else debits += entry.amountCents;
    }
    records.push(
      '8' +
        serviceClass +
        num(count, 6) +
        num(hash % 10_000_000_000n, 10) +
        num(debits, 12) +
        num(credits, 12) +
        alpha(batch.companyId, 10) +
        alpha('', 19) +
        alpha('', 6) +
        batch.odfi +
        num(batch.batchNumber, 7),
    );
    fileCount += count;
    fileHash += hash;
    fileDebits += debits;
    fileCredits += credits;
  }
  const blocks = Math.ceil((records.length + 1) / 10);
  records.push(
    '9' +
      num(batches.length, 6) +
      num(blocks, 6) +
      num(fileCount, 8) +
      num(fileHash % 10_000_000_000n, 10) +
      num(fileDebits, 12) +
      num(fileCredits, 12) +
      alpha('', 39),
  );
  while (records.length % 10 !== 0) records.push('9'.repeat(94));
  for (const [i, record] of records.entries())
    if (record.length !== 94) throw new Error(`fixture record ${i + 1} has ${record.length} characters`);
  return records.join('\n') + '\n';
}

/** The originating bank of the fixtures (8 routing digits) and the company that sends them. */
export const ODFI = '12104288';
export const COMPANY_ID = '1234567890';

/**
 * A payroll-and-collections file: a PPD batch (record 2) of a credit with remittance (records 3–4: $1,234.56 to
 * ach:09100001:123456789), a debit (record 5: $45.67), a prenote (record 6, rejected: moves no money) and a CCD
 * batch (record 8) of one corporate credit (record 9: $100,000.00); records 1–12 padded to 20.
 */
export function payrollFile(createdAt: Date, modifier = 'A'): string {
  return nachaFile(
    createdAt,
    [
      {
        sec: 'PPD',
        companyName: 'ACME PAYROLL',
        companyId: COMPANY_ID,
        description: 'PAYROLL',
        effectiveDate: '261125',
        odfi: ODFI,
        batchNumber: 1,
        entries: [
          {
            code: '22',
            routing: '091000019',
            account: '123456789',
            amountCents: 123_456n,
            name: 'JANE DOE',
            sequence: 1,
            remittance: 'SALARY NOVEMBER',
          },
          {
            code: '27',
            routing: '091000019',
            account: '555000111',
            amountCents: 4_567n,
            name: 'JOHN ROE',
            sequence: 2,
          },
          { code: '23', routing: '091000019', account: '777000222', amountCents: 0n, name: 'NEW HIRE', sequence: 3 },
        ],
      },
      {
        sec: 'CCD',
        companyName: 'ACME PAYROLL',
        companyId: COMPANY_ID,
        description: 'VENDOR PAY',
        effectiveDate: '261125',
        odfi: ODFI,
        batchNumber: 2,
        entries: [
          {
            code: '22',
            routing: '026009593',
            account: '9988776655',
            amountCents: 10_000_000n,
            name: 'SUPPLIER INC',
            sequence: 4,
          },
        ],
      },
    ],
    modifier,
  );
}

/**
 * A return file from the receiving bank: the credit of record 3 of `payrollFile` ($1,234.56, trace ODFI + 0000001)
 * returned R03 (no account / unable to locate), as entry record 3 with its addenda 99 at record 4.
 */
export function returnFile(createdAt: Date): string {
  return nachaFile(
    createdAt,
    [
      {
        sec: 'PPD',
        companyName: 'ACME PAYROLL',
        companyId: COMPANY_ID,
        description: 'PAYROLL',
        effectiveDate: '261126',
        odfi: '09100001',
        batchNumber: 1,
        entries: [
          {
            code: '21',
            routing: '121042882',
            account: '123456789',
            amountCents: 123_456n,
            name: 'JANE DOE',
            sequence: 1,
            returned: { reason: 'R03', originalTrace: traceOf(ODFI, 1), originalRdfi: '09100001' },
          },
        ],
      },
    ],
    'R',
  );
}

/** Replaces the characters of record `number` (1-based) from position `from` (1-based) with `text`. */
export function editRecord(file: string, number: number, from: number, text: string): string {
  const lines = file.split('\n');
  const line = lines[number - 1]!;
  lines[number - 1] = line.slice(0, from - 1) + text + line.slice(from - 1 + text.length);
  return lines.join('\n');
}
