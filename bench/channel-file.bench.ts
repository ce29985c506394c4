/**
 * A large channel file through the ingest stage, for BENCHMARKS.md (a command, not a test):
 *
 *   npx tsx bench/channel-file.bench.ts                 (BENCH_FILE_FORMAT csv | nacha | pain001, BENCH_FILE_MB 100)
 *
 * A child process writes a file of about BENCH_FILE_MB MiB to a temporary directory (every row or entry a good
 * transfer, one item in 1,000 with an amount its currency refuses, so the answer carries rejections too). This
 * process then starts the ingest stage as the embedded default runs it (its HTTP router on the embedded durable log,
 * the file idempotency store, 127.0.0.1 only), streams the file to `POST /v1/channels/<format>` from disk, and
 * reads the answer as it comes, keeping only its last bytes for the summary. Meanwhile it samples
 * `process.memoryUsage()` every 50 ms: the peak RSS, heap and external + array buffers over the upload, beside the
 * baseline just before it. Prints one JSON line: bytes, items, accepted / rejected, seconds, items/s, the peaks,
 * the load average before and after. The other stages are not running: what is measured is ingest's work and
 * memory for the file, not the pipeline's for the transactions.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { type Server, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { startIngest } from '../ingest/main.js';
import { TEST_KEY } from '../ingest/testing/fixtures.js';
import { testContext } from '../ingest/testing/harness.js';
import { ODFI, nachaFile } from '../ingest/testing/nacha.js';
import { ApiKeyAuthenticator } from '../platform/auth.js';
import { readInt } from '../platform/config.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';

const formats = { csv: 'csv', nacha: 'nacha', pain001: 'iso20022' } as const;
type Format = keyof typeof formats;
const format = (process.env['BENCH_FILE_FORMAT'] ?? 'csv') as Format;
if (!Object.hasOwn(formats, format))
  throw new Error(`BENCH_FILE_FORMAT must be one of ${Object.keys(formats).join(', ')}`);
const targetBytes = readInt(process.env, 'BENCH_FILE_MB', 100, { min: 1, max: 1024 }) * 2 ** 20;
/** Half an hour before the test harness's clock (NOW_MS, 2026-11-24T09:00Z), which the stage runs on here. */
const createdAt = '2026-11-24T08:30:00Z';
const KEY = 'bench-ingest-key-0123456789abcdef';

/** Writes the file with back-pressure; every 1,000th item carries a refused amount. */
async function generate(path: string): Promise<void> {
  const out = createWriteStream(path);
  let written = 0;
  const write = async (text: string): Promise<void> => {
    written += Buffer.byteLength(text);
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  const bad = (i: number): boolean => i % 1000 === 999;
  if (format === 'csv') {
    await write(
      'transaction_id,channel,kind,amount,currency,payer_account,payee_account,event_time,scheme,end_to_end_id\n',
    );
    for (let i = 0; written < targetBytes; i++)
      await write(
        `bench-csv-${i},sepa,transfer,${bad(i) ? '10.001' : `${(i % 90_000) + 1}.${String(i % 100).padStart(2, '0')}`},EUR,` +
          `DE89370400440532${String(i % 1_000_000).padStart(6, '0')},FR1420041010050500013M${String(i % 100_000).padStart(5, '0')},${createdAt},SEPA_CT,E2E-${i}\n`,
      );
  } else if (format === 'pain001') {
    await write(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>\n` +
        `<GrpHdr><MsgId>BENCH-PAIN-1</MsgId><CreDtTm>${createdAt}</CreDtTm><NbOfTxs>0</NbOfTxs></GrpHdr>\n`,
    );
    for (let block = 0, i = 0; written < targetBytes; block++) {
      await write(
        `<PmtInf><PmtInfId>P-${block}</PmtInfId><PmtMtd>TRF</PmtMtd><ReqdExctnDt><Dt>2026-11-25</Dt></ReqdExctnDt>` +
          `<Dbtr><Nm>Debtor Ltd</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>` +
          `<DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>\n`,
      );
      for (let n = 0; n < 1000; n++, i++)
        await write(
          `<CdtTrfTxInf><PmtId><InstrId>I-${i}</InstrId><EndToEndId>E2E-${i}</EndToEndId></PmtId>` +
            `<Amt><InstdAmt Ccy="EUR">${bad(i) ? '10.001' : `${(i % 90_000) + 1}.${String(i % 100).padStart(2, '0')}`}</InstdAmt></Amt>` +
            `<CdtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>Creditor ${i}</Nm></Cdtr>` +
            `<CdtrAcct><Id><IBAN>FR1420041010050500013M${String(i % 100_000).padStart(5, '0')}</IBAN></Id></CdtrAcct>` +
            `<RmtInf><Ustrd>Invoice ${i}</Ustrd></RmtInf></CdtTrfTxInf>\n`,
        );
      await write('</PmtInf>\n');
    }
    await write('</CstmrCdtTrfInitn></Document>\n');
  } else {
    // 95 bytes a record (94 and a line break); batches of 5,000 entries, every control computed by the fixture.
    const entries = Math.floor(targetBytes / 95);
    const batches = [];
    for (let b = 0, sequence = 0; b * 5000 < entries; b++) {
      const batch = [];
      for (let n = 0; n < 5000 && sequence < entries; n++, sequence++)
        batch.push({
          code: '22',
          routing: '091000019',
          account: String(sequence).padStart(9, '0'),
          // A prenote code refused as "moves no money" stands in for the bad item (NACHA amounts are cents already).
          amountCents: BigInt((sequence % 90_000) + 1),
          name: 'JANE DOE',
          sequence: sequence + 1,
          ...(bad(sequence) ? { code: '23', amountCents: 0n } : {}),
        });
      batches.push({
        sec: 'PPD',
        companyName: 'ACME',
        companyId: '1234567890',
        description: 'PAYROLL',
        effectiveDate: '261125',
        odfi: ODFI,
        batchNumber: b + 1,
        entries: batch,
      });
    }
    await write(nachaFile(new Date(createdAt), batches));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

interface Peaks {
  rss: number;
  heapUsed: number;
  external: number;
}

function sampleMemory(): { stop(): Peaks } {
  const peaks: Peaks = { rss: 0, heapUsed: 0, external: 0 };
  const sample = (): void => {
    const usage = process.memoryUsage();
    peaks.rss = Math.max(peaks.rss, usage.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed);
    peaks.external = Math.max(peaks.external, usage.external + usage.arrayBuffers);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

if (process.argv[2] === 'generate') {
  await generate(process.argv[3]!);
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-channel-file-'));
const file = join(dir, `file.${format}`);
try {
  const generated = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'generate', file],
    {
      stdio: 'inherit',
      env: process.env,
    },
  );
  if (generated.status !== 0) throw new Error(`the generator exited with ${generated.status}`);
  const bytes = (await stat(file)).size;

  const log = await EmbeddedLog.open({ dir: join(dir, 'log') });
  const ctx = await testContext(log);
  const stage = await startIngest({
    bus: ctx.bus,
    registry: ctx.registry,
    authenticator: new ApiKeyAuthenticator([{ role: 'ingest', key: KEY }]),
    logger: ctx.logger,
    metrics: ctx.metrics,
    clock: ctx.clock,
    dataDir: ctx.dataDir,
    env: {
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES: String(256 * 2 ** 20),
      VIGIL_INGEST_CHANNEL_SPOOL_DIR: dir,
    },
  });
  const app = express();
  app.use(stage.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/channels/${formats[format]}`;

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage();
  const loadBefore = loadAverage();
  const memory = sampleMemory();
  const started = performance.now();
  // node:http, not fetch: a file stream piped into the request keeps back-pressure (Readable.toWeb reads ahead).
  const answer = await new Promise<{ status: number; bytes: number; tail: string }>((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/octet-stream',
          'content-length': String(bytes),
          'vigil-file-id': 'bench-1',
        },
      },
      (response) => {
        let received = 0;
        let tail = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          received += Buffer.byteLength(text);
          tail = (tail + text).slice(-4096);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes: received, tail }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    createReadStream(file).pipe(request);
  });
  const { tail } = answer;
  const responseBytes = answer.bytes;
  const seconds = (performance.now() - started) / 1000;
  const peaks = memory.stop();
  gc?.();
  const after = process.memoryUsage();
  const summary = /"summary":(\{[^}]*\})\}\s*$/.exec(tail)?.[1];
  const counts = summary === undefined ? undefined : (JSON.parse(summary) as Record<string, number>);
  const items = counts === undefined ? 0 : Object.values(counts).reduce((a, b) => a + b, 0);
  process.stdout.write(
    JSON.stringify({
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${mib(totalmem())} MiB`,
      node: process.version,
      format,
      fileMiB: mib(bytes),
      status: answer.status,
      ...(counts === undefined ? { answerTail: tail.slice(-300) } : {}),
      items,
      summary: counts,
      seconds: Math.round(seconds * 10) / 10,
      itemsPerSecond: Math.round(items / seconds),
      responseMiB: mib(responseBytes),
      baselineMiB: { rss: mib(baseline.rss), heapUsed: mib(baseline.heapUsed) },
      peakMiB: { rss: mib(peaks.rss), heapUsed: mib(peaks.heapUsed), externalAndArrayBuffers: mib(peaks.external) },
      // What stays once the file is answered: mostly the idempotency store's ids (bench/bounded-state.bench.ts).
      afterGcMiB: { rss: mib(after.rss), heapUsed: mib(after.heapUsed) },
      maxOldSpaceMiB: v8.getHeapStatistics().heap_size_limit / 2 ** 20,
      loadAverage: { before: loadBefore, after: loadAverage() },
    }) + '\n',
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await stage.close();
  await log.close();
  await ctx.cleanup();
} finally {
  await rm(dir, { recursive: true, force: true });
}
