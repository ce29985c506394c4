import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TrafficSimulator } from './generator.js';
import { simulatorDefaults } from './options.js';
import type { TrafficEvent } from './traffic-event.js';
import { FraudScenario, type SimulatorOptions } from './types.js';

/**
 * The CSV format of the ULB/Worldline fraud-detection handbook's simulated data set (../shared/ML-EVAL.md),
 * so Vigil's evaluation can replay the simulator's output exactly like the published data.
 */
export const HANDBOOK_CSV_HEADER =
  'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS,TX_FRAUD,TX_FRAUD_SCENARIO';

export type HandbookScenarioCode = 0 | 1 | 2 | 3;

/** TX_FRAUD_SCENARIO: 0 genuine, 1 high amount, 2 compromised terminal, 3 leaked credentials. */
export function handbookScenarioCode(scenario: FraudScenario | null): HandbookScenarioCode {
  switch (scenario) {
    case null:
      return 0;
    case FraudScenario.highAmount:
      return 1;
    case FraudScenario.compromisedTerminal:
      return 2;
    case FraudScenario.leakedCredentials:
      return 3;
    default:
      throw new RangeError(`scenario ${scenario} has no handbook code; generate with handbookMode`);
  }
}

/** One parsed CSV row. */
export interface HandbookRow {
  readonly transactionId: number;
  /** 'YYYY-MM-DD HH:MM:SS' (UTC, written without a zone as the handbook does). */
  readonly txDatetime: string;
  readonly customerId: number;
  readonly terminalId: number;
  /** Major units (= txAmountCents / 100), for statistics only; money is txAmountCents. */
  readonly txAmount: number;
  /** The amount in exact cents, rounded half-even from however many decimals the file wrote. */
  readonly txAmountCents: bigint;
  /** True when the file's amount had non-zero digits beyond cents (pandas' float noise) and was rounded. */
  readonly txAmountRounded: boolean;
  readonly txTimeSeconds: number;
  readonly txTimeDays: number;
  readonly txFraud: 0 | 1;
  readonly txFraudScenario: HandbookScenarioCode;
}

const DAY_MS = 86_400_000;
// TX_AMOUNT as pandas wrote it: "57.16", but also "146.0" and float noise like "57.160000000000004".
const rowPattern =
  /^(\d+),(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d+),(\d+),(\d{1,13}(?:\.\d{1,30})?),(\d+),(\d+),([01]),([0-3])$/;

/**
 * A non-negative decimal string as exact cents, rounded half to even. The digits are read as text into a bigint,
 * never through a float: "146.0" → 14600n, "57.160000000000004" → 5716n (rounded), "0.125" → 12n, "0.135" → 14n.
 * Throws RangeError for anything else (an exponent, a sign, a missing digit).
 */
export function decimalToCents(text: string): { cents: bigint; rounded: boolean } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a plain decimal amount: ${JSON.stringify(text.slice(0, 40))}`);
  const fraction = m[2] ?? '';
  let cents = BigInt(m[1]!) * 100n + BigInt((fraction + '00').slice(0, 2));
  const rest = fraction.slice(2);
  const rounded = /[1-9]/.test(rest);
  if (rounded) {
    const aboveHalf = rest[0]! > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1)));
    const exactHalf = rest[0] === '5' && !aboveHalf;
    if (aboveHalf || (exactHalf && cents % 2n === 1n)) cents += 1n;
  }
  return { cents, rounded };
}

/** Parses one data line; throws RangeError naming the line when it is not in the handbook format. */
export function parseHandbookRow(line: string): HandbookRow {
  const m = rowPattern.exec(line);
  if (!m) throw new RangeError(`not a handbook CSV row: ${JSON.stringify(line.slice(0, 200))}`);
  return {
    transactionId: Number(m[1]),
    txDatetime: m[2]!,
    customerId: Number(m[3]),
    terminalId: Number(m[4]),
    ...amountOf(m[5]!),
    txTimeSeconds: Number(m[6]),
    txTimeDays: Number(m[7]),
    txFraud: m[8] === '1' ? 1 : 0,
    txFraudScenario: Number(m[9]) as HandbookScenarioCode,
  };
}

function amountOf(text: string): Pick<HandbookRow, 'txAmount' | 'txAmountCents' | 'txAmountRounded'> {
  const { cents, rounded } = decimalToCents(text);
  return { txAmount: Number(cents) / 100, txAmountCents: cents, txAmountRounded: rounded };
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** Longest possible row: 9 integers of up to 16 digits, a datetime, separators. */
const MAX_ROW_BYTES = 256;

/** Writes the decimal digits of a non-negative safe integer at `pos`; returns the position after them. */
function writeInteger(buffer: Uint8Array, pos: number, value: number): number {
  if (value < 10) {
    buffer[pos] = 48 + value;
    return pos + 1;
  }
  let digits = 0;
  for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = pos + digits - 1; i >= pos; i--) {
    buffer[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + digits;
}

function writeTwoDigits(buffer: Uint8Array, pos: number, value: number): number {
  buffer[pos] = 48 + Math.floor(value / 10);
  buffer[pos + 1] = 48 + (value % 10);
  return pos + 2;
}

/**
 * Encodes events as CSV rows straight into bytes (ASCII). Rows come by the million, and building them as
 * strings makes the garbage collector the bottleneck; writing digits into a buffer makes no garbage.
 * Only EUR-cent purchases (handbook mode, which has no card flows).
 */
export class HandbookRowFormatter {
  private cachedDay = Number.NaN;
  private readonly cachedDate = new Uint8Array(10);
  private readonly scratch = new Uint8Array(MAX_ROW_BYTES);

  /** `startTimeMs` is day 0, second 0 of TX_TIME_SECONDS / TX_TIME_DAYS. */
  constructor(private readonly startTimeMs: number) {}

  /** Writes the row and its newline into `buffer` at `pos` (needs MAX_ROW_BYTES of room); returns the end. */
  encodeInto(event: TrafficEvent, buffer: Uint8Array, pos: number): number {
    if (event.terminal === null) throw new RangeError(`event ${event.seq} has no terminal; generate with handbookMode`);
    // One row is one purchase: an authorisation and its captures would count the same money (and fraud) twice.
    if (event.kind !== 'purchase')
      throw new RangeError(`event ${event.seq} is a ${event.kind}, not a purchase; generate with handbookMode`);
    const day = Math.floor(event.timeMs / DAY_MS);
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      const date = new Date(day * DAY_MS).toISOString();
      for (let i = 0; i < 10; i++) this.cachedDate[i] = date.charCodeAt(i);
    }
    const secondOfDay = Math.floor((event.timeMs - day * DAY_MS) / 1000);
    const txSeconds = Math.floor((event.timeMs - this.startTimeMs) / 1000);
    const cents = event.amountMinor % 100;
    let p = writeInteger(buffer, pos, event.seq);
    buffer[p++] = COMMA;
    buffer.set(this.cachedDate, p);
    p += 10;
    buffer[p++] = 0x20;
    p = writeTwoDigits(buffer, p, Math.floor(secondOfDay / 3600));
    buffer[p++] = 0x3a;
    p = writeTwoDigits(buffer, p, Math.floor((secondOfDay % 3600) / 60));
    buffer[p++] = 0x3a;
    p = writeTwoDigits(buffer, p, secondOfDay % 60);
    buffer[p++] = COMMA;
    p = writeInteger(buffer, p, event.customer.index);
    buffer[p++] = COMMA;
    p = writeInteger(buffer, p, event.terminal.index);
    buffer[p++] = COMMA;
    p = writeInteger(buffer, p, (event.amountMinor - cents) / 100);
    buffer[p++] = 0x2e;
    p = writeTwoDigits(buffer, p, cents);
    buffer[p++] = COMMA;
    p = writeInteger(buffer, p, txSeconds);
    buffer[p++] = COMMA;
    p = writeInteger(buffer, p, Math.floor(txSeconds / 86_400));
    buffer[p++] = COMMA;
    buffer[p++] = event.fraud ? 0x31 : 0x30;
    buffer[p++] = COMMA;
    buffer[p++] = 48 + handbookScenarioCode(event.scenario);
    buffer[p++] = NEWLINE;
    return p;
  }

  /** The row as a string, without its newline. */
  format(event: TrafficEvent): string {
    const end = this.encodeInto(event, this.scratch, 0);
    return Buffer.from(this.scratch.buffer, 0, end - 1).toString('latin1');
  }
}

/** Options of a handbook data set: the simulator's options (handbook mode is forced) and its length. */
export interface HandbookCsvOptions extends Omit<SimulatorOptions, 'handbookMode'> {
  /** Number of whole days to generate (the handbook's full set is 183). */
  readonly days: number;
}

export interface HandbookCsvSummary {
  readonly rows: number;
  readonly fraud: number;
  readonly days: number;
  readonly startTimeMs: number;
}

const CHUNK_BYTES = 1 << 20;

/**
 * The CSV bytes in chunks of about 1 MiB, header first; `summary` is filled in as rows are produced.
 * Holds one chunk in memory, never the data set.
 */
export function* handbookCsvChunks(
  options: HandbookCsvOptions,
  summary: { rows: number; fraud: number } = { rows: 0, fraud: 0 },
  onChunk?: (day: number) => void,
): Generator<Buffer> {
  if (!Number.isSafeInteger(options.days) || options.days < 0)
    throw new RangeError(`days must be a whole number ≥ 0, got ${options.days}`);
  const simulator = new TrafficSimulator({ ...options, handbookMode: true });
  const formatter = new HandbookRowFormatter(simulator.options.startTimeMs);
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pos = chunk.write(HANDBOOK_CSV_HEADER + '\n', 'latin1');
  if (options.days > 0) {
    for (let event = simulator.nextEvent(); event.day < options.days; event = simulator.nextEvent()) {
      if (pos + MAX_ROW_BYTES > CHUNK_BYTES) {
        onChunk?.(event.day);
        yield chunk.subarray(0, pos);
        chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        pos = 0;
      }
      pos = formatter.encodeInto(event, chunk, pos);
      summary.rows++;
      if (event.fraud) summary.fraud++;
    }
  }
  onChunk?.(options.days);
  if (pos > 0) yield chunk.subarray(0, pos);
}

/**
 * Streams a handbook data set to `out` (a path, or a stream that is ended when done), gzip-compressed when
 * `gzip` is true (default: when the path ends in .gz). Resolves once everything is flushed.
 */
export async function writeHandbookCsv(
  options: HandbookCsvOptions & {
    readonly out: string | Writable;
    readonly gzip?: boolean;
    /** Hears the simulated day reached, about once per MiB written. */
    readonly onProgress?: (day: number) => void;
  },
): Promise<HandbookCsvSummary> {
  const { out, gzip, onProgress, ...simulatorOptions } = options;
  const counts = { rows: 0, fraud: 0 };
  const source = Readable.from(handbookCsvChunks(simulatorOptions, counts, onProgress), { objectMode: false });
  const sink = typeof out === 'string' ? createWriteStream(out) : out;
  const compress = gzip ?? (typeof out === 'string' && out.endsWith('.gz'));
  if (compress) await pipeline(source, createGzip(), sink);
  else await pipeline(source, sink);
  return { ...counts, days: options.days, startTimeMs: options.startTimeMs ?? simulatorDefaults.startTimeMs };
}
