import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { TrafficSimulator } from './generator.js';
import {
  HANDBOOK_CSV_HEADER,
  HandbookRowFormatter,
  handbookCsvChunks,
  handbookScenarioCode,
  decimalToCents,
  parseHandbookRow,
  writeHandbookCsv,
  type HandbookRow,
} from './handbook-csv.js';
import { writeNdjson } from './ndjson.js';
import { FraudScenario } from './types.js';
import type { TransactionRequest } from '../schemas/api.js';

function rowsOf(text: string): HandbookRow[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  expect(header).toBe(HANDBOOK_CSV_HEADER);
  return lines.map(parseHandbookRow);
}

describe('handbook CSV', () => {
  it('maps the handbook scenarios to codes 1–3 and refuses the others', () => {
    expect(handbookScenarioCode(null)).toBe(0);
    expect(handbookScenarioCode(FraudScenario.highAmount)).toBe(1);
    expect(handbookScenarioCode(FraudScenario.compromisedTerminal)).toBe(2);
    expect(handbookScenarioCode(FraudScenario.leakedCredentials)).toBe(3);
    expect(() => handbookScenarioCode(FraudScenario.cardTesting)).toThrow(RangeError);
  });

  it('writes rows that parse back to the events they came from', () => {
    const simulator = new TrafficSimulator({
      seed: 8,
      customers: 500,
      terminals: 1_000,
      handbookMode: true,
      startTimeMs: Date.UTC(2018, 3, 1),
    });
    const formatter = new HandbookRowFormatter(simulator.options.startTimeMs);
    for (let i = 0; i < 3_000; i++) {
      const event = simulator.nextEvent();
      const line = formatter.format(event);
      const row = parseHandbookRow(line);
      expect(row.transactionId).toBe(event.seq);
      expect(row.txDatetime).toBe(new Date(event.timeMs).toISOString().slice(0, 19).replace('T', ' '));
      expect(row.customerId).toBe(event.customer.index);
      expect(row.terminalId).toBe(event.terminal!.index);
      expect(Math.round(row.txAmount * 100)).toBe(event.amountMinor);
      expect(row.txTimeSeconds).toBe(Math.floor((event.timeMs - simulator.options.startTimeMs) / 1000));
      expect(row.txTimeDays).toBe(event.day);
      expect(row.txFraud).toBe(event.fraud ? 1 : 0);
      expect(row.txFraudScenario).toBe(handbookScenarioCode(event.scenario));
    }
    expect(() => parseHandbookRow('1,2018-04-01 00:00:00,1,2,3,5,0,0,0,0')).toThrow(RangeError);
    expect(() => parseHandbookRow('1,2018-04-01 00:00:00,1,2,-3.50,0,0,0,0')).toThrow(RangeError);
  });

  it('reads amounts as the published file has them (pandas): one decimal, float noise rounded half-even', () => {
    const amount = (text: string) => {
      const row = parseHandbookRow(`2,2018-04-01 00:07:56,2,1365,${text},476,0,0,0`);
      return [row.txAmountCents, row.txAmountRounded, row.txAmount];
    };
    expect(amount('146.0')).toEqual([14600n, false, 146]);
    expect(amount('57.16')).toEqual([5716n, false, 57.16]);
    expect(amount('57.160000000000004')).toEqual([5716n, true, 57.16]);
    expect(amount('13.589999999999998')).toEqual([1359n, true, 13.59]);
    expect(amount('12')).toEqual([1200n, false, 12]);
    // Exact ties go to the even cent; anything above the tie goes up.
    expect(decimalToCents('0.125')).toEqual({ cents: 12n, rounded: true });
    expect(decimalToCents('0.135')).toEqual({ cents: 14n, rounded: true });
    expect(decimalToCents('0.1250001')).toEqual({ cents: 13n, rounded: true });
    expect(decimalToCents('0.12499999')).toEqual({ cents: 12n, rounded: true });
    expect(decimalToCents('0.120')).toEqual({ cents: 12n, rounded: false });
    expect(decimalToCents('9999999999.995')).toEqual({ cents: 1_000_000_000_000n, rounded: true });
    // Past 2^53 cents, where a float would lose the last cent.
    expect(decimalToCents('90071992547409.93')).toEqual({ cents: 9_007_199_254_740_993n, rounded: false });
    for (const text of ['1e-3', '1E5', '-3.50', '.5', '5.', '1,5', ' 5', 'NaN', 'inf', ''])
      expect(() => decimalToCents(text)).toThrow(RangeError);
    // Negative control: the same cases read through a float go wrong, so they do tell the two apart.
    const viaFloat = (text: string) => BigInt(Math.round(Number(text) * 100));
    expect(viaFloat('0.125')).not.toBe(decimalToCents('0.125').cents);
    expect(viaFloat('90071992547409.93')).not.toBe(decimalToCents('90071992547409.93').cents);
    expect(viaFloat('1e-3')).toBe(0n); // a float parser silently accepts an exponent
  });

  it('mirrors the handbook data set over 30 days: ~9,600 transactions a day, 0.5–1.2 % fraud', () => {
    const summary = { rows: 0, fraud: 0 };
    const days = 30;
    const rows = rowsOf(Buffer.concat([...handbookCsvChunks({ days, seed: 2018 }, summary)]).toString('latin1'));
    expect(rows).toHaveLength(summary.rows);
    const perDay = rows.length / days;
    expect(perDay).toBeGreaterThan(9_600 * 0.85);
    expect(perDay).toBeLessThan(9_600 * 1.15);
    const fraudShare = summary.fraud / summary.rows;
    expect(fraudShare).toBeGreaterThan(0.005);
    expect(fraudShare).toBeLessThan(0.012);
    expect(new Set(rows.map((r) => r.txFraudScenario))).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(rows.map((r) => r.customerId)).size).toBeGreaterThan(4_500);
    expect(new Set(rows.map((r) => r.terminalId)).size).toBeGreaterThan(9_000);
    // Ids count up from 0, times never go back, days run 0 … 29.
    expect(
      rows.every((r, i) => r.transactionId === i && (i === 0 || r.txTimeSeconds >= rows[i - 1]!.txTimeSeconds)),
    ).toBe(true);
    expect(rows[0]!.txDatetime.startsWith('2018-04-01')).toBe(true);
    expect(rows[rows.length - 1]!.txTimeDays).toBe(days - 1);
    // Leaked credentials multiply amounts by 5; genuine amounts stay within the handbook's range.
    expect(rows.reduce((max, r) => (r.txFraud === 0 && r.txAmount > max ? r.txAmount : max), 0)).toBeLessThanOrEqual(
      220,
    );
    expect(rows.filter((r) => r.txFraudScenario === 1).every((r) => r.txAmount > 220)).toBe(true);
  });

  it('streams to a gzip file and to a stream with the same content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-'));
    try {
      const path = join(dir, 'data.csv.gz');
      const fileSummary = await writeHandbookCsv({ days: 2, seed: 5, customers: 300, terminals: 600, out: path });
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      });
      const streamSummary = await writeHandbookCsv({ days: 2, seed: 5, customers: 300, terminals: 600, out: sink });
      const fromFile = gunzipSync(readFileSync(path)).toString('latin1');
      expect(fromFile).toBe(Buffer.concat(chunks).toString('latin1'));
      expect(rowsOf(fromFile)).toHaveLength(fileSummary.rows);
      expect(streamSummary).toEqual(fileSummary);
      expect(fileSummary.rows).toBeGreaterThan(1_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ndjson', () => {
  it('writes one request body per line', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const summary = await writeNdjson({ count: 5_000, seed: 3, customers: 300, terminals: 600, out: sink });
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5_000);
    expect(summary.rows).toBe(5_000);
    const requests = lines.map((line) => JSON.parse(line) as TransactionRequest);
    expect(requests.map((r) => r.transactionId)).toEqual(requests.map((_, i) => `sim-3-${i}`));
    expect(new TrafficSimulator({ seed: 3, customers: 300, terminals: 600 }).take(5_000).map((t) => t.request)).toEqual(
      requests,
    );
  });
});
