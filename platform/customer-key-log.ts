/**
 * The per-customer data keys of distributed mode as a log every process folds alike (the `customer.keys` topic;
 * adapter: `log-customer-key-store.ts`). Pure: no I/O, no clock — the fold is a function of the log alone, so every
 * process that has read the same records holds the same keys.
 *
 * Records (one partition, so one order for everything):
 *  - `key`: a proposal of version `version` of a customer's data key, wrapped under the master key. Keyed by
 *    customer, version and a proposal id of its own, so compaction (which keeps the *last* record per key) never
 *    drops the proposal that won for one that lost. The first proposal of a (customer, version) on the log wins;
 *    later ones lose and decide nothing, and so does a proposal of a version already destroyed.
 *  - `destroyed`: every version up to `throughVersion` is destroyed — by an erasure request, or by retention. Keyed
 *    by customer and that number, never tombstoned: it holds no key, and it is what keeps a destroyed number from
 *    being used again once compaction has removed the proposals themselves.
 *  - a tombstone of a `key` record, written once its version is destroyed (or it lost): compaction then removes the
 *    wrapped key from the topic.
 */

/** A proposal as it is on the log. */
export interface KeyProposal {
  readonly type: 'key';
  readonly customerId: string;
  readonly version: number;
  /** Unique per proposal; the record's key is {@link proposalRecordKey} of the three. */
  readonly proposalId: string;
  /** Which master key wrapped it (a digest of the key, not the key). */
  readonly masterKeyId: string;
  /** IV ‖ AES-256-GCM ciphertext of the 32-byte data key ‖ tag. */
  readonly wrapped: Buffer;
  readonly createdAtMs: number;
}

/** Versions 1 … `throughVersion` of a customer are destroyed. */
export interface KeysDestroyed {
  readonly type: 'destroyed';
  readonly customerId: string;
  readonly throughVersion: number;
  /** True for an erasure request (GDPR art. 17), false for retention. */
  readonly erasure: boolean;
  readonly atMs: number;
}

/** A proposal's record removed (a tombstone of its key). */
export interface ProposalRemoved {
  readonly type: 'removed';
  readonly recordKey: string;
}

export type CustomerKeyRecord = KeyProposal | KeysDestroyed | ProposalRemoved;

/** The proposal that won a version, as long as the version is held. */
export interface HeldVersion {
  readonly version: number;
  readonly proposalId: string;
  readonly masterKeyId: string;
  readonly wrapped: Buffer;
  readonly createdAtMs: number;
}

/** One customer after the fold. */
export interface CustomerKeys {
  /** Winning proposals of versions not destroyed, oldest first. */
  readonly held: readonly HeldVersion[];
  /** Every version up to this one is destroyed (0: none). */
  readonly destroyedThrough: number;
  /** The highest version number on the log, held or destroyed: the next proposal takes the one after it. */
  readonly highestVersion: number;
  /** Epoch ms of the last erasure request, or null. */
  readonly erasedAtMs: number | null;
}

/** The key of a proposal's record: customer (base64url), version and proposal id. */
export function proposalRecordKey(customerId: string, version: number, proposalId: string): string {
  return `key/${Buffer.from(customerId, 'utf8').toString('base64url')}/${version}/${proposalId}`;
}

/** The key of a `destroyed` record: one per customer and number, so a repeat with the same number replaces it. */
export function destroyedRecordKey(customerId: string, throughVersion: number): string {
  return `destroyed/${Buffer.from(customerId, 'utf8').toString('base64url')}/${throughVersion}`;
}

interface MutableCustomer {
  readonly held: Map<number, HeldVersion>;
  destroyedThrough: number;
  highestVersion: number;
  erasedAtMs: number | null;
  /** Record keys of this customer's proposals still on the log that decide nothing (lost, or destroyed). */
  readonly removable: Set<string>;
}

/** The fold: apply records in log order, then ask. */
export class CustomerKeyLog {
  private readonly customers = new Map<string, MutableCustomer>();
  /** Which customer a proposal record key belongs to, while the record may still be on the log. */
  private readonly ownerOf = new Map<string, string>();

  apply(record: CustomerKeyRecord): void {
    switch (record.type) {
      case 'key': {
        const customer = this.customer(record.customerId);
        const recordKey = proposalRecordKey(record.customerId, record.version, record.proposalId);
        this.ownerOf.set(recordKey, record.customerId);
        customer.highestVersion = Math.max(customer.highestVersion, record.version);
        if (record.version <= customer.destroyedThrough || customer.held.has(record.version)) {
          // Lost, or proposed for a number already destroyed: it never sealed anything.
          customer.removable.add(recordKey);
          return;
        }
        customer.held.set(record.version, {
          version: record.version,
          proposalId: record.proposalId,
          masterKeyId: record.masterKeyId,
          wrapped: record.wrapped,
          createdAtMs: record.createdAtMs,
        });
        return;
      }
      case 'destroyed': {
        const customer = this.customer(record.customerId);
        if (record.erasure) customer.erasedAtMs = record.atMs;
        if (record.throughVersion <= customer.destroyedThrough) return;
        customer.destroyedThrough = record.throughVersion;
        customer.highestVersion = Math.max(customer.highestVersion, record.throughVersion);
        for (const [version, held] of customer.held) {
          if (version > record.throughVersion) continue;
          customer.held.delete(version);
          customer.removable.add(proposalRecordKey(record.customerId, version, held.proposalId));
        }
        return;
      }
      case 'removed': {
        const customerId = this.ownerOf.get(record.recordKey);
        if (customerId === undefined) return;
        this.ownerOf.delete(record.recordKey);
        this.customers.get(customerId)?.removable.delete(record.recordKey);
        return;
      }
    }
  }

  /** One customer's keys; an unknown customer has none. */
  customerKeys(customerId: string): CustomerKeys {
    const customer = this.customers.get(customerId);
    if (customer === undefined) return { held: [], destroyedThrough: 0, highestVersion: 0, erasedAtMs: null };
    return {
      held: [...customer.held.values()].sort((a, b) => a.version - b.version),
      destroyedThrough: customer.destroyedThrough,
      highestVersion: customer.highestVersion,
      erasedAtMs: customer.erasedAtMs,
    };
  }

  /** The version's winning proposal while it is held. */
  heldVersion(customerId: string, version: number): HeldVersion | undefined {
    return this.customers.get(customerId)?.held.get(version);
  }

  /** Record keys of proposals still on the log that decide nothing: what tombstones should remove. */
  removableRecordKeys(customerId?: string): string[] {
    if (customerId !== undefined) return [...(this.customers.get(customerId)?.removable ?? [])];
    return [...this.customers.values()].flatMap((customer) => [...customer.removable]);
  }

  /** Customers with at least one held version. */
  customersWithKeys(): string[] {
    return [...this.customers].filter(([, customer]) => customer.held.size > 0).map(([id]) => id);
  }

  /** How many versions are held, over all customers. */
  heldCount(): number {
    let count = 0;
    for (const customer of this.customers.values()) count += customer.held.size;
    return count;
  }

  private customer(customerId: string): MutableCustomer {
    let customer = this.customers.get(customerId);
    if (customer === undefined) {
      customer = { held: new Map(), destroyedThrough: 0, highestVersion: 0, erasedAtMs: null, removable: new Set() };
      this.customers.set(customerId, customer);
    }
    return customer;
  }
}

/**
 * Retention, as the file store keeps it: the versions of `keys` whose last value is more than `retentionMs` before
 * `nowMs` — a version seals until its successor is made, and at most `rotateAfterMs` after its creation (0: no
 * rotation, so the newest version never expires). Returns the highest such version (they are always the oldest,
 * so destroying through it destroys exactly them), or 0.
 */
export function expiredThrough(keys: CustomerKeys, nowMs: number, retentionMs: number, rotateAfterMs: number): number {
  let through = 0;
  keys.held.forEach((held, i) => {
    const lastPossibleUse = rotateAfterMs > 0 ? held.createdAtMs + rotateAfterMs : Number.POSITIVE_INFINITY;
    const next = keys.held[i + 1];
    const lastUse = next === undefined ? lastPossibleUse : Math.min(next.createdAtMs, lastPossibleUse);
    if (lastUse + retentionMs <= nowMs) through = held.version;
  });
  return through;
}
