/**
 * Ports the ingest domain needs from the outside world, implemented in `adapters/`. The domain stays pure:
 * cryptography and storage are injected, so validation and idempotency decisions run on plain data in tests.
 */

import type { Secret } from '../platform/config.js';
import type { Transaction } from '../schemas/generated/types.js';
import type { Attempt } from './domain/idempotency.js';

/**
 * Turns a PAN into irreversible tokens (keyed HMAC in production). Neither may ever be the PAN.
 *  - `tokenize`: the card token that travels on the log, under the current tokenisation key; it changes when the
 *    key rotates and names its key version (`domain/card-token.ts`).
 *  - `fingerprintToken`: the card as the duplicate fingerprint sees it, under the never-rotated fingerprint key, so a
 *    retry after a rotation is still a duplicate. It never leaves ingest.
 */
export interface PanTokenizer {
  tokenize(pan: string): string;
  fingerprintToken(pan: string): string;
}

/** One version of the tokenisation key: `v1`, `v2`, … (`domain/card-token.ts` KEY_VERSION_PATTERN). */
export interface TokenizationKey {
  readonly version: string;
  readonly key: Secret;
}

/**
 * Where the tokenisation keys come from: one current version that new tokens are made with, older versions by
 * name, and the fingerprint key. Shaped for a KMS: keys are addressed by version and one is current; a KMS adapter
 * would unwrap its data keys (envelope encryption) once at start — or on a rotation notice — and answer from memory,
 * so tokenising a request never waits on the network.
 */
export interface TokenizationKeyStore {
  /** The version new tokens are made with. */
  current(): TokenizationKey;
  /** A version the store still holds; undefined once retired. */
  byVersion(version: string): TokenizationKey | undefined;
  /**
   * The key the duplicate fingerprint represents a PAN with. Never rotated: changing it turns every retry of an
   * earlier request into a conflict. Defaults to the v1 tokenisation key, so fingerprints made before key versions
   * existed (over v1 tokens) stay valid.
   */
  fingerprintKey(): Secret;
}

/** SHA-256 of UTF-8 text as 64 lowercase hex characters. */
export interface ContentHasher {
  sha256Hex(text: string): string;
}

/** What ingest remembers about an accepted transaction id: its content fingerprint and where it sits on the log. */
export interface IdempotencyRecord {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * Accepted transaction ids. The caller claims the ids of a request (under its per-id lock), appends the ones it
 * was given to the log, then `remember`s them — or `release`s them if the append failed. `remember` is called only
 * after the records are durably on the log; once it has resolved, `claim` answers them as known. Two adapters:
 * the embedded default's file journal (one process: the per-id lock is the only arbiter needed) and, in
 * distributed mode, a claims topic shared by every ingest replica (`adapters/claims-idempotency-store.ts`).
 */
export interface IdempotencyStore {
  /**
   * The records of ids accepted before among `attempts` (first attempt per id counts); every id left out is the
   * caller's to append. Rejects with a retriable error when the store cannot decide now (nothing stays claimed).
   */
  claim(attempts: readonly Attempt[]): Promise<ReadonlyMap<string, IdempotencyRecord>>;
  /** Records accepted ids; resolves when they are durable. Rejects with a retriable error on I/O failure. */
  remember(records: readonly IdempotencyRecord[]): Promise<void>;
  /** Gives back claimed ids whose append failed, so a retry of them is accepted. Best effort; may reject. */
  release(transactionIds: readonly string[]): Promise<void>;
  /** False once the store has failed to persist; readiness reports it. */
  isHealthy(): boolean;
  /** How many ids are held (a gauge). */
  size(): number;
  close(): Promise<void>;
}

/**
 * Minimises and seals a transaction's personal fields before it is written anywhere (`domain/personal-data.ts`):
 * coordinates coarsened, the device id pseudonymised, free text and the IP address sealed under the customer's
 * data key. Rejects with a retriable error when the key store cannot be used; nothing is written then.
 */
export interface PersonalDataProtector {
  protect(transaction: Transaction): Promise<Transaction>;
}

/** A channel file once received: its key (format and the sender's id for the file) and the SHA-256 of its bytes. */
export interface ChannelFileReceipt {
  readonly key: string;
  /** SHA-256 of the file's bytes, 64 lowercase hex characters. */
  readonly sha256: string;
}

/**
 * Channel files received (file-level idempotency): the same key with the same bytes is the same file sent again,
 * the same key with other bytes a conflict. `remember` is called once the file's items are answered.
 */
export interface ChannelFileStore {
  lookup(key: string): Promise<ChannelFileReceipt | undefined>;
  /** Resolves once the receipt is durable; rejects with a retriable error on I/O failure. */
  remember(receipt: ChannelFileReceipt): Promise<void>;
  /** False once the store has failed to persist; readiness reports it. */
  isHealthy(): boolean;
  close(): Promise<void>;
}

/** A chargeback to record as a verdict: the judged transaction and what the gateway says of it. */
export interface ChargebackVerdict {
  readonly transactionId: string;
  readonly payerAccountId: string | null;
  readonly transactionEventTimeMs: number;
  readonly note: string;
}

/**
 * Records chargebacks on the label path (analyst.labels) as FRAUD verdicts by `chargeback`, in order; resolves with
 * each record's position once durable, rejects with a retriable error when the log cannot take them.
 */
export interface ChargebackRecorder {
  record(verdicts: readonly ChargebackVerdict[]): Promise<ReadonlyArray<{ partition: number; offset: number }>>;
}
