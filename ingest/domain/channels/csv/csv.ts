import { parse } from 'csv-parse/sync';
import type { FieldProblem } from '../../../../platform/errors.js';
import type { TransactionRequest } from '../../../../schemas/api.js';
import type { ContentHasher } from '../../../ports.js';
import { type ChannelItem, type ChannelParse, PAN_IN_REFERENCE, checkedReferences } from '../channel.js';

/**
 * CSV uploads → channel items: one row per transaction under a header row (RFC 4180 quoting, a UTF-8 BOM allowed),
 * every value kept as text — amounts are decimal strings validated exactly like the JSON API's, never numbers. The
 * header names the columns (the documented layout below); other layouts are mapped with `columns`, e.g.
 * `{ amount: 'Betrag', currency: 'Waehrung' }`. A row is reported by its line and the column at fault.
 */

/** The documented columns and the request field each fills; the first five are required. */
export const csvColumns = {
  transaction_id: '/transactionId',
  channel: '/channel',
  amount: '/amount/value',
  currency: '/amount/currency',
  payer_account: '/payer/accountId',
  payee_account: '/payee/accountId',
  kind: '/kind',
  customer_id: '/payer/customerId',
  original_transaction_id: '/originalTransactionId',
  event_time: '/eventTime',
  description: '/description',
  scheme: '/bankTransfer/scheme',
  end_to_end_id: '/bankTransfer/endToEndId',
  remittance_info: '/bankTransfer/remittanceInfo',
  merchant_id: '/merchant/id',
  mcc: '/merchant/mcc',
  country: '/location/country',
} as const;
export type CsvColumn = keyof typeof csvColumns;
const requiredColumns: readonly CsvColumn[] = [
  'transaction_id',
  'channel',
  'amount',
  'currency',
  'payer_account',
  'payee_account',
];

export interface CsvOptions {
  readonly hasher: ContentHasher;
  /** The sender's id for the file (the `Vigil-File-Id` header); absent, the file is known by its content alone. */
  readonly fileId?: string;
  /** Header names of another layout, by documented column. */
  readonly columns?: Readonly<Partial<Record<CsvColumn, string>>>;
}

/** Reads the `columns` query value, `amount=Betrag,currency=Waehrung`, or gives the problem with it. */
export function parseColumnMapping(
  text: string | undefined,
): { ok: true; columns: Partial<Record<CsvColumn, string>> } | { ok: false; problems: FieldProblem[] } {
  const columns: Partial<Record<CsvColumn, string>> = {};
  if (text === undefined || text === '') return { ok: true, columns };
  for (const pair of text.split(',')) {
    const [column, header] = pair.split('=', 2).map((s) => s.trim());
    if (column === undefined || header === undefined || header === '' || !Object.hasOwn(csvColumns, column))
      return {
        ok: false,
        problems: [
          {
            path: '/query/columns',
            message: `must be column=header pairs separated by commas; columns: ${Object.keys(csvColumns).join(', ')}`,
          },
        ],
      };
    columns[column as CsvColumn] = header;
  }
  return { ok: true, columns };
}

const position = (line: number, index: number, name: string): string => `line ${line}, column ${index + 1} (${name})`;

/** CSV parse options shared by the whole-file and the streamed readers (csv-parse). */
export const csvParseOptions = {
  info: true,
  bom: true,
  relax_column_count: true,
  skip_empty_lines: true,
  trim: true,
} as const;

/** One record as csv-parse gives it with `info`: its cells and the line it ended on. */
export interface CsvRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** A refusal of a whole CSV file. */
export const csvRefusal = {
  notUtf8: { path: '', message: 'is not valid UTF-8' },
  /** Broken quoting, at the line csv-parse stopped on (when it says). */
  notCsv: (line: unknown): FieldProblem => ({
    path: typeof line === 'number' ? `line ${line}` : '',
    message: 'is not valid CSV (RFC 4180)',
  }),
  noHeader: { path: 'line 1', message: 'a header row is required' },
} as const;

/**
 * The columns of one CSV file, read from its header row: maps each following record to an item, holding nothing
 * but the header, so a file of any length is mapped row by row. `fileId` is the sender's (`Vigil-File-Id`) or, lacking
 * one, `sha256-` and the SHA-256 of the file's bytes.
 */
export class CsvLayout {
  private constructor(
    private readonly header: CsvRecord,
    private readonly indexOf: ReadonlyMap<CsvColumn, number>,
    readonly fileId: string,
  ) {}

  /** The layout a header row gives, or the problems with it (a required column missing, a file id with a PAN). */
  static of(
    header: CsvRecord,
    options: CsvOptions,
    contentSha256: string,
  ): { ok: true; layout: CsvLayout } | { ok: false; problems: FieldProblem[] } {
    const indexOf = new Map<CsvColumn, number>();
    const problems: FieldProblem[] = [];
    for (const column of Object.keys(csvColumns) as CsvColumn[]) {
      const name = options.columns?.[column] ?? column;
      const index = header.record.indexOf(name);
      if (index >= 0) indexOf.set(column, index);
      else if (requiredColumns.includes(column))
        problems.push({ path: `line ${header.info.lines}`, message: `the header has no column ${name}` });
    }
    if (problems.length > 0) return { ok: false, problems };
    const fileId = options.fileId ?? `sha256-${contentSha256}`;
    const fileProblems = checkedReferences([['FileId', fileId, '/headers/vigil-file-id']], []);
    if (fileProblems['FileId'] === undefined)
      return { ok: false, problems: [{ path: '/headers/vigil-file-id', message: PAN_IN_REFERENCE }] };
    return { ok: true, layout: new CsvLayout(header, indexOf, fileId) };
  }

  /** One record under the header as an item located at its line (and each cell at its column). */
  item({ record, info }: CsvRecord): ChannelItem {
    const header = this.header;
    const fileId = this.fileId;
    const line = info.lines;
    const location = `line ${line}`;
    const value = (column: CsvColumn): string | undefined => {
      const index = this.indexOf.get(column);
      const cell = index === undefined ? undefined : record[index];
      return cell === undefined || cell === '' ? undefined : cell;
    };
    const fieldLocations: Record<string, string> = { '': location };
    for (const [column, index] of this.indexOf)
      fieldLocations[csvColumns[column]] = position(line, index, header.record[index]!);
    fieldLocations['/amount'] = fieldLocations['/amount/value']!;
    const sourceDocument = { format: 'csv', references: { FileId: fileId, Line: String(line) }, location };
    if (record.length !== header.record.length)
      return {
        location,
        sourceDocument,
        problems: [{ path: location, message: `has ${record.length} fields; the header has ${header.record.length}` }],
        fieldLocations,
      };
    const request: Record<string, unknown> = {
      transactionId: value('transaction_id'),
      channel: value('channel'),
      amount: { value: value('amount'), currency: value('currency') },
      payer: { accountId: value('payer_account'), customerId: value('customer_id') },
      payee: { accountId: value('payee_account') },
      kind: value('kind'),
      originalTransactionId: value('original_transaction_id'),
      eventTime: value('event_time'),
      description: value('description'),
    };
    const scheme = value('scheme');
    if (scheme !== undefined)
      request['bankTransfer'] = {
        scheme,
        endToEndId: value('end_to_end_id'),
        remittanceInfo: value('remittance_info'),
      };
    const merchantId = value('merchant_id');
    const mcc = value('mcc');
    if (merchantId !== undefined || mcc !== undefined) request['merchant'] = { id: merchantId, mcc };
    const country = value('country');
    if (country !== undefined) request['location'] = { country };
    // Validation reads absent and undefined alike; the JSON API's rules (and messages) apply cell by cell.
    return {
      location,
      request: request as unknown as TransactionRequest,
      sourceDocument,
      problems: [],
      fieldLocations,
    };
  }
}

/**
 * Parses a CSV upload held whole (tests, the simulator, the fuzzers; the route streams it through the same
 * CsvLayout); the whole file is refused only when its quoting is broken or its header lacks a column.
 */
export function parseCsv(bytes: Uint8Array, options: CsvOptions): ChannelParse {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, problems: [csvRefusal.notUtf8] };
  }
  let rows: CsvRecord[];
  try {
    // With `info`, each record comes with where it ended (csv-parse's typings do not follow the option).
    rows = parse(text, csvParseOptions) as unknown as CsvRecord[];
  } catch (error) {
    return { ok: false, problems: [csvRefusal.notCsv((error as { lines?: unknown }).lines)] };
  }
  const [header, ...records] = rows;
  if (header === undefined) return { ok: false, problems: [csvRefusal.noHeader] };
  const read = CsvLayout.of(header, options, options.hasher.sha256Hex(text));
  if (!read.ok) return read;
  const items = records.map((record) => read.layout.item(record));
  return { ok: true, document: { format: 'csv', messageId: read.layout.fileId, items } };
}
