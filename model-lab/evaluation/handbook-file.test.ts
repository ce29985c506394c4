import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HandbookRow } from '../../simulator/handbook-csv.js';
import { handbookTransaction } from './handbook-transactions.js';
import { readHandbookCsv } from './handbook-file.js';
import { replayHandbook } from './replay.js';

// Rows in the published file's own shapes: two decimals, one decimal ("146.0", "226.4"), none ("12"),
// pandas' float noise ("57.160000000000004", "13.589999999999998") and two exact ties ("0.125", "0.135").
const fixture = fileURLToPath(new URL('./fixtures/handbook-published.csv', import.meta.url));

async function readAll(path: string): Promise<HandbookRow[]> {
  const rows: HandbookRow[] = [];
  for await (const row of readHandbookCsv(path)) rows.push(row);
  return rows;
}

describe('readHandbookCsv on a file in the published format', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-handbook-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads every row to exact cents, half-even, and says which were rounded', async () => {
    const rows = await readAll(fixture);
    expect(rows.map((r) => [r.transactionId, handbookTransaction(r).amountMinor, r.txAmountRounded])).toEqual([
      [0, 5716n, false],
      [1, 8151n, false],
      [2, 14600n, false],
      [3, 6449n, false],
      [4, 5099n, false],
      [5, 4471n, false],
      [6, 5716n, true],
      [7, 1359n, true],
      [8, 22640n, false],
      [9, 12n, true],
      [10, 14n, true],
      [11, 1200n, false],
    ]);
  });

  test('the replay counts the rounded amounts: 4 of 12, the same from a gzip copy', async () => {
    const whole = { fromDay: 0, toDay: Number.MAX_SAFE_INTEGER };
    const plain = await replayHandbook(readHandbookCsv(fixture), () => whole);
    expect([plain.rowsRead, plain.amountsRounded]).toEqual([12, 4]);
    const gz = join(dir, 'published.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture)));
    const zipped = await replayHandbook(readHandbookCsv(gz), () => whole);
    expect([zipped.rowsRead, zipped.amountsRounded]).toEqual([12, 4]);
    // Negative control: with the noise written out to two decimals the count drops to the two ties, so the
    // count is read from the digits, not assumed.
    const cleaned = join(dir, 'cleaned.csv');
    writeFileSync(
      cleaned,
      readFileSync(fixture, 'latin1').replace('57.160000000000004', '57.16').replace('13.589999999999998', '13.59'),
    );
    const clean = await replayHandbook(readHandbookCsv(cleaned), () => whole);
    expect([clean.rowsRead, clean.amountsRounded]).toEqual([12, 2]);
  });

  test.each([
    ['an exponent', '1e-3'],
    ['a capital exponent', '5.7E1'],
    ['a sign', '-3.50'],
    ['no leading digit', '.5'],
    ['text', 'oops'],
    ['a decimal comma', '57,16'],
  ])('refuses %s in TX_AMOUNT, naming the row', async (_name, amount) => {
    const bad = join(dir, 'bad.csv');
    const lines = readFileSync(fixture, 'latin1').trimEnd().split('\n');
    // Line 6 of the file is row 4 after the header (TRANSACTION_ID 4).
    lines[5] = `4,2018-04-01 00:10:34,927,9906,${amount},634,0,0,0`;
    writeFileSync(bad, lines.join('\n') + '\n');
    await expect(readAll(bad)).rejects.toThrow(/bad\.csv:6: not a handbook CSV row: "4,2018-04-01 00:10:34,927,9906,/);
  });
});
