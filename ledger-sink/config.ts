import { type Env, readInt, readString } from '../platform/config.js';

/** ledger-sink's configuration, parsed once at startup; a bad value fails fast naming the key. */
export interface LedgerSinkConfig {
  /** Consumer group on `tx.scored` and `analyst.labels` (VIGIL_LEDGER_GROUP_ID, default `ledger-sink`). */
  readonly groupId: string;
  /**
   * Upper bound on records per batch (VIGIL_LEDGER_MAX_BATCH_RECORDS, 1..100000, default 2000). One batch is
   * one insert per table, so this also bounds the size of one atomic part.
   */
  readonly maxBatchRecords: number;
  /** Transaction ids per idempotency lookup query (VIGIL_LEDGER_LOOKUP_CHUNK_IDS, 1..10000, default 1000). */
  readonly lookupChunkIds: number;
}

export function parseLedgerSinkConfig(env: Env): LedgerSinkConfig {
  return Object.freeze({
    groupId: readString(env, 'VIGIL_LEDGER_GROUP_ID', 'ledger-sink'),
    maxBatchRecords: readInt(env, 'VIGIL_LEDGER_MAX_BATCH_RECORDS', 2000, { min: 1, max: 100_000 }),
    lookupChunkIds: readInt(env, 'VIGIL_LEDGER_LOOKUP_CHUNK_IDS', 1000, { min: 1, max: 10_000 }),
  });
}
