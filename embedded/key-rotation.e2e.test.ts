import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenizationKeyStore } from '../ingest/adapters/file-key-store.js';
import type { TokenizationKeyStore } from '../ingest/ports.js';
import { silentLogger } from '../platform/logger.js';
import type { AuditTrail, IngestResult, LedgerIntegrity, TransactionRequest } from '../schemas/api.js';
import { startEmbeddedPipeline } from './pipeline.js';
import { secretsDirOf } from './secrets.js';
import { apiClient, cardPayment, waitFor } from './testing.js';

/**
 * A tokenisation key rotation between two sends of the same card transactions: the card tokens change (and name
 * v2), the fingerprints do not, so every retry is a duplicate and the ledger records no conflict.
 */
const keys = { ingest: 'rotation-ingest-key-0123456789', compliance: 'rotation-compliance-key-0123456789' };
const N = 24;
const PANS = ['4111111111111111', '5555555555554444', '378282246310005', '4012888888881881'];
const TIMEOUT_MS = 240_000;

function requests(): TransactionRequest[] {
  return Array.from({ length: N }, (_, i) => ({
    ...cardPayment(`rot-${i}`, `rot-payer-${i}`, 'rot-merchant', `${10 + i}.50`),
    card: { number: PANS[i % PANS.length]!, present: true },
  }));
}

/** The fault the issue reported: a store whose fingerprint key is the current tokenisation key. */
function fingerprintOverCurrentToken(store: TokenizationKeyStore): TokenizationKeyStore {
  return {
    current: () => store.current(),
    byVersion: (version) => store.byVersion(version),
    fingerprintKey: () => store.current().key,
  };
}

interface Run {
  /** HTTP status and, for a transaction on the log (200/202), its result; a refused one answers a problem. */
  readonly statuses: Array<{ readonly http: number; readonly result: IngestResult['status'] | undefined }>;
  readonly integrity: LedgerIntegrity;
  /** The card token of rot-0 as the audit trail shows it. */
  readonly firstToken: string | undefined;
}

/** Starts the pipeline on `dataDir`, sends every request one by one, waits for all N decisions, stops. */
async function sendAll(
  dataDir: string,
  wrap: (store: TokenizationKeyStore) => TokenizationKeyStore = (store) => store,
): Promise<Run> {
  const pipeline = await startEmbeddedPipeline({
    env: {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_SIMULATOR_TPS: '0',
      VIGIL_API_KEYS: Object.entries(keys)
        .map(([role, key]) => `${role}:${key}`)
        .join(','),
    },
    logger: silentLogger,
    tokenizationKeys: wrap(FileTokenizationKeyStore.open(secretsDirOf(dataDir))),
  });
  try {
    const ingest = apiClient(pipeline.url, keys.ingest);
    const compliance = apiClient(pipeline.url, keys.compliance);
    const statuses: Run['statuses'] = [];
    for (const request of requests()) {
      const response = await ingest.post<IngestResult>('/v1/transactions', request);
      const written = response.status === 200 || response.status === 202;
      statuses.push({ http: response.status, result: written ? response.body.status : undefined });
    }
    const integrity = await waitFor(
      `${N} decisions in the ledger report`,
      async () => {
        const report = await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity');
        return report.body.distinctDecisions === N ? report.body : undefined;
      },
      TIMEOUT_MS / 2,
    );
    const trail = await compliance.get<AuditTrail>('/v1/transactions/rot-0');
    return { statuses, integrity, firstToken: trail.body.transaction.card?.token ?? undefined };
  } finally {
    await pipeline.close();
  }
}

const count = (run: Run, http: number, result?: IngestResult['status']) =>
  run.statuses.filter((s) => s.http === http && s.result === result).length;

describe('tokenisation key rotation, end to end', () => {
  const dirs: string[] = [];
  const newDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rotation-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a request sent before and after a rotation is a duplicate, never a conflict',
    async () => {
      const dataDir = newDataDir();
      const first = await sendAll(dataDir);
      expect(count(first, 202, 'accepted')).toBe(N);
      expect(first.firstToken).toMatch(/^tok_[A-Za-z0-9_-]{43}$/);

      expect(FileTokenizationKeyStore.rotate(secretsDirOf(dataDir))).toBe('v2');
      const second = await sendAll(dataDir);
      expect(count(second, 200, 'duplicate')).toBe(N);
      expect(second.integrity.conflicts).toBe(0);
      expect(second.integrity.distinctDecisions).toBe(N);

      // After the rotation new tokens name v2; the retries kept the original (v1) record.
      const pipeline = await startEmbeddedPipeline({
        env: {
          VIGIL_DATA_DIR: dataDir,
          VIGIL_HTTP_PORT: '0',
          VIGIL_SIMULATOR_TPS: '0',
          VIGIL_API_KEYS: `ingest:${keys.ingest},compliance:${keys.compliance}`,
        },
        logger: silentLogger,
      });
      try {
        const fresh = { ...requests()[0]!, transactionId: 'rot-after-rotation' };
        expect((await apiClient(pipeline.url, keys.ingest).post('/v1/transactions', fresh)).status).toBe(202);
        const token = await waitFor('the audit trail of the transaction sent after the rotation', async () => {
          const trail = await apiClient(pipeline.url, keys.compliance).get<AuditTrail>(
            '/v1/transactions/rot-after-rotation',
          );
          return trail.status === 200 ? trail.body.transaction.card?.token : undefined;
        });
        expect(token).toMatch(/^tok_v2_[A-Za-z0-9_-]{43}$/);
        expect(token).not.toBe(first.firstToken);
      } finally {
        await pipeline.close();
      }
    },
    TIMEOUT_MS * 2,
  );

  it(
    'negative control: with the fingerprint over the card token (the old way), every retry is a conflict',
    async () => {
      const dataDir = newDataDir();
      const first = await sendAll(dataDir, fingerprintOverCurrentToken);
      expect(count(first, 202, 'accepted')).toBe(N);
      FileTokenizationKeyStore.rotate(secretsDirOf(dataDir));
      const second = await sendAll(dataDir, fingerprintOverCurrentToken);
      expect(count(second, 409)).toBe(N);
      expect(count(second, 200, 'duplicate')).toBe(0);
    },
    TIMEOUT_MS * 2,
  );
});
