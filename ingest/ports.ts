/**
 * Ports the ingest domain needs from the outside world, implemented in `adapters/`. The domain stays pure:
 * cryptography and storage are injected, so validation and idempotency decisions run on plain data in tests.
 */

/** Turns a PAN into a stable, irreversible token (keyed HMAC in production). Must never return the PAN. */
export interface PanTokenizer {
  tokenize(pan: string): string;
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
 * Accepted transaction ids. `remember` is called only after the records are durably on the log; once it has
 * resolved, `lookup` sees them. Implementations may make records visible before `remember` resolves.
 */
export interface IdempotencyStore {
  /** The known records among `transactionIds` (absent ids were never accepted, as far as the store knows). */
  lookup(transactionIds: readonly string[]): Promise<ReadonlyMap<string, IdempotencyRecord>>;
  /** Records accepted ids; resolves when they are durable. Rejects with a retriable error on I/O failure. */
  remember(records: readonly IdempotencyRecord[]): Promise<void>;
  /** False once the store has failed to persist; readiness reports it. */
  isHealthy(): boolean;
  /** How many ids are held (a gauge). */
  size(): number;
  close(): Promise<void>;
}
