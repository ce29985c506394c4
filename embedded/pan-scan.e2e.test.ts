import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { createLogger } from '../platform/logger.js';
import type { AuditTrail, ChannelFileResponse, LedgerIntegrity } from '../schemas/api.js';
import { transfersCsv } from '../ingest/testing/csv.js';
import { multiCurrencyPain001, pain001WithBadItems } from '../ingest/testing/iso20022.js';
import { payrollFile } from '../ingest/testing/nacha.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, storedStringColumns, waitFor } from './testing.js';

/**
 * No card number at rest, from any route, in any field (PCI DSS 3.3/3.4): card numbers are planted in every string
 * field of every request shape (the single, batch and synchronous-decision endpoints, and analyst label notes),
 * then every store of the embedded default is scanned — every file of the data directory (log segments with
 * tx.raw, tx.scored, alerts and dead letters, the idempotency journal, snapshots), every String column of every
 * ClickHouse table by SQL, and every line the process logged. Identifiers holding one must be refused, free text
 * masked. (Elasticsearch is not part of the embedded default; distributed mode is not scanned here.)
 */
const keys = {
  ingest: 'pan-ingest-key-0123456789',
  analyst: 'pan-analyst-key-0123456789',
  compliance: 'pan-compliance-key-0123456789',
};
const PANS = ['4111111111111111', '5555555555554444', '378282246310005'];
/** How each is written: plain, grouped with dashes, glued to letters. */
const forms = [PANS[0]!, '5555-5555-5555-4444', `card${PANS[2]!}`];
/** A card number as any of the ways it could be written: digits, optionally separated by one space or dash. */
const stored = new RegExp(PANS.map((pan) => pan.split('').join('[ -]?')).join('|'));

const base = {
  transactionId: 'pan-base',
  channel: 'card',
  kind: 'purchase',
  amount: { value: '12.00', currency: 'EUR' },
  payer: { accountId: 'acct-pan-1', customerId: 'cust-pan-1' },
  payee: { accountId: 'merchant-pan-1' },
  card: { number: '4000056655665556', present: true },
  merchant: { id: 'merchant-pan-1', terminalId: 'term-pan-1', mcc: '5411' },
  device: { id: 'device-pan-1', ip: '10.0.0.1' },
  location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  description: 'groceries',
  channelReference: 'ref-pan-1',
} as const;
const transferBase = {
  transactionId: 'pan-transfer-base',
  channel: 'sepa',
  amount: { value: '99.00', currency: 'EUR' },
  payer: { accountId: 'acct-pan-2' },
  payee: { accountId: 'acct-pan-3' },
  bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'e2e-pan-1', remittanceInfo: 'invoice 7' },
} as const;

/** Every path to a string leaf of `value`, as key arrays. */
function stringPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value === 'string') return [prefix];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...prefix, k]));
}

function withLeaf(value: unknown, path: readonly string[], leaf: string): unknown {
  if (path.length === 0) return leaf;
  const copy = { ...(value as Record<string, unknown>) };
  copy[path[0]!] = withLeaf(copy[path[0]!], path.slice(1), leaf);
  return copy;
}

/** Each request shape with a card number in one string field, each way of writing it; ids kept unique. */
function plantedRequests(): unknown[] {
  const out: unknown[] = [];
  let n = 0;
  for (const shape of [base, transferBase]) {
    for (const path of stringPaths(shape)) {
      // card.number is where a card number belongs; it is tokenised, which the other e2e test checks.
      if (path.join('.') === 'card.number') continue;
      for (const form of forms) {
        const request = withLeaf(shape, path, path[0] === 'transactionId' ? `pan-${n}-${form}` : form);
        out.push(path[0] === 'transactionId' ? request : { ...(request as object), transactionId: `pan-${n}` });
        n++;
      }
    }
  }
  return out;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Files whose bytes hold a card number in any written form; ClickHouse's own files are scanned by SQL instead. */
function filesWithPans(dataDir: string): string[] {
  const clickhouseDir = join(dataDir, 'clickhouse');
  return filesUnder(dataDir).filter(
    (path) => !path.startsWith(clickhouseDir) && stored.test(readFileSync(path).toString('latin1')),
  );
}

/**
 * `table.column` of every String-typed column (arrays and nullables included) holding a card number, in every table
 * that stores rows: a view (plain or materialised into a table) holds none of its own, and would only show its
 * source's rows a second time.
 */
async function columnsWithPans(clickhouse: ClickHouseClient): Promise<string[]> {
  const columns = await storedStringColumns(clickhouse);
  expect(columns.length).toBeGreaterThan(20); // the scan sees the tables, not an empty database
  const found: string[] = [];
  for (const { table, column: name, textSql: text } of columns) {
    const rows = await (
      await clickhouse.query({
        query: `SELECT count() AS n FROM ${table} WHERE match(${text}, {pattern:String})`,
        query_params: { pattern: stored.source },
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    if (Number(rows[0]!.n) > 0) found.push(`${table}.${name}`);
  }
  return found;
}

describe('no card number at rest (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline | undefined;
  const logged: string[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-pan-'));
  });
  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('refuses identifiers holding one, masks free text, and no store or log line holds one', async () => {
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_LOG_LEVEL: 'debug',
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: createLogger({ level: 'debug', write: (line) => logged.push(line) }),
    });
    const ingest = apiClient(pipeline.url, keys.ingest);
    const requests = plantedRequests();
    const single = await Promise.all(requests.map((r) => ingest.post('/v1/transactions', r)));
    const batch = await ingest.post<{ results: Array<{ status: string }> }>(
      '/v1/transactions/batch',
      requests.map((r) => ({ ...(r as object), transactionId: `b-${(r as { transactionId: string }).transactionId}` })),
    );
    const sync = await Promise.all(
      requests.map((r) =>
        fetch(pipeline!.url + '/v1/decisions', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${keys.ingest}`,
            'content-type': 'application/json',
            'vigil-decision-deadline-ms': '1',
          },
          body: JSON.stringify({
            ...(r as object),
            transactionId: `s-${(r as { transactionId: string }).transactionId}`,
          }),
        }).then(async (response) => ({ status: response.status, body: await response.text() })),
      ),
    );
    // Channel files: a card number in remittance text (kept, masked: ISO 20022 and a NACHA addenda), in an
    // EndToEndId and a CSV cell (refused).
    const now = new Date().toISOString();
    const files = [
      await ingest.post<ChannelFileResponse>(
        '/v1/channels/iso20022',
        multiCurrencyPain001({ createdAt: now }),
        'application/xml',
      ),
      await ingest.post<ChannelFileResponse>(
        '/v1/channels/iso20022',
        pain001WithBadItems({ createdAt: now }),
        'application/xml',
      ),
      await ingest.post<ChannelFileResponse>(
        '/v1/channels/csv',
        transfersCsv(now, 'pan').replace('E2E-CSV-1', 'E2E-5555555555554444'),
        'text/csv',
      ),
      await ingest.post<ChannelFileResponse>(
        '/v1/channels/nacha',
        // Sixteen characters for sixteen: the addenda record keeps its 94.
        payrollFile(new Date()).replace('SALARY NOVEMBER ', PANS[0]!),
        'text/plain',
      ),
    ];
    expect(files.map((f) => f.body.summary.accepted)).toEqual([5, 2, 1, 3]);
    const fromFiles = 11;
    for (const file of files) expect(JSON.stringify(file.body)).not.toMatch(stored);
    // Free text is accepted (masked); ids and strictly formatted fields holding a card number are refused.
    const accepted = single.filter((r) => r.status === 202).length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(requests.length);
    expect(batch.body.results.filter((r) => r.status === 'accepted')).toHaveLength(accepted);
    expect(sync.filter((r) => r.status === 202 || r.status === 200)).toHaveLength(accepted);
    for (const response of [...single.map((r) => JSON.stringify(r.body)), ...sync.map((r) => r.body)])
      expect(response).not.toMatch(stored);

    const compliance = apiClient(pipeline.url, keys.compliance);
    await waitFor(
      `${3 * accepted + fromFiles} decisions stored`,
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows >=
        3 * accepted + fromFiles
          ? true
          : undefined,
      120_000,
    );
    const analyst = apiClient(pipeline.url, keys.analyst);
    const labelled = (requests[single.findIndex((r) => r.status === 202)] as { transactionId: string }).transactionId;
    for (const form of forms)
      expect(
        (await analyst.post('/v1/labels', { transactionId: labelled, label: 'fraud', note: `seen ${form}` })).status,
      ).toBe(202);
    // The labels reach ledger-sink through analyst.labels; wait for the three in ClickHouse before closing.
    await waitFor('the labels stored', async () => {
      const trail = await compliance.get<AuditTrail>(`/v1/transactions/${labelled}`);
      return trail.status === 200 && trail.body.labels.length >= forms.length ? true : undefined;
    });
    await pipeline.close();
    pipeline = undefined;

    expect(
      filesWithPans(dataDir).map((path) => {
        const text = readFileSync(path).toString('latin1');
        const at = text.search(stored);
        return `${path}: …${JSON.stringify(text.slice(Math.max(0, at - 40), at + 40))}…`;
      }),
    ).toEqual([]);
    expect(logged.filter((line) => stored.test(line))).toEqual([]);
    const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'clickhouse')}`);
    try {
      expect(await columnsWithPans(clickhouse)).toEqual([]);

      // Negative controls: the scans do find a card number once one is planted in a file and in a table.
      writeFileSync(join(dataDir, 'planted.txt'), 'leaked 5555-5555-5555-4444');
      expect(filesWithPans(dataDir)).toEqual([join(dataDir, 'planted.txt')]);
      await clickhouse.command({
        query: `INSERT INTO analyst_labels (transaction_id, label, labelled_by, labelled_at, note) VALUES ('x', 'FRAUD', 'planted', now64(3), 'card 4111 1111 1111 1111')`,
      });
      expect(await columnsWithPans(clickhouse)).toEqual(['analyst_labels.note']);
    } finally {
      await clickhouse.close();
    }
  }, 300_000);
});
