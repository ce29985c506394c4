import { randomUUID } from 'node:crypto';
import { type ManagedKey, type ManagedKeyTable, isRole } from '../platform/auth.js';
import type { Bus, Subscription } from '../platform/bus.js';
import { CatchUp } from '../platform/catch-up.js';
import type { Clock } from '../platform/clock.js';
import { ValidationError } from '../platform/errors.js';
import { type Codec, createCodec } from './codec.js';
import { DeadLetterWriter, decodeOrDeadLetter } from './dead-letter.js';
import type { ApiKey } from './generated/types.js';
import type { SchemaRegistry } from './registry.js';
import { Topics } from './topics.js';

/**
 * The contract of Topics.apiKeys — managed API keys for machine feeds, created, rotated and revoked by admins
 * through `/v1/api-keys` — and the feed that keeps every process's ManagedKeyTable current. Every process that
 * authenticates requests reads the topic whole: a key created through one process is accepted by all of them once
 * the record reached them (within the feed's poll interval; the writing process applies it at once).
 */

/** The authenticator's view of a record; a record naming an unknown role is refused (dead-lettered). */
export function managedKeyOf(record: ApiKey): ManagedKey {
  if (!isRole(record.role))
    throw new ValidationError(`API key ${record.keyId} names an unknown role`, [
      { path: '/role', message: `"${record.role}" is not a role` },
    ]);
  return {
    keyId: record.keyId,
    role: record.role,
    digestHex: record.digest,
    principalId: record.principalId,
    expiresAtMs: record.expiresAtMs,
    revokedAtMs: record.revokedAtMs,
    updatedAtMs: record.updatedAtMs,
  };
}

export interface ApiKeyFeed {
  readonly subscription: Subscription;
  /** The records as the table holds them, by key id: the routes list and rotate from here. */
  readonly records: ReadonlyMap<string, ApiKey>;
  /** Applies a record this process just wrote, so its own next request sees it (the feed applies it again later). */
  apply(record: ApiKey): void;
  /** True once every record on the topic when the feed started is in the table (and from then on). */
  isLoaded(): boolean;
  /** Resolves once isLoaded(): a process starts serving requests only then, so no key it knows is refused. */
  readonly loaded: Promise<void>;
  /** Writes `record` durably to the topic and applies it here. */
  publish(record: ApiKey): Promise<void>;
}

/**
 * Reads Topics.apiKeys whole into `table`, in a consumer group of its own per process start (so it is assigned the
 * topic's partition) from the earliest offset, never committing: each start reads the compacted topic again.
 * Undecodable records and records with an unknown role go to the dead-letter topic.
 */
export async function startApiKeyFeed(
  bus: Bus,
  registry: SchemaRegistry,
  table: ManagedKeyTable,
  clock: Clock,
): Promise<ApiKeyFeed> {
  const codec: Codec<ApiKey> = await createCodec<ApiKey>(registry, Topics.apiKeys);
  const deadLetters = await DeadLetterWriter.create(bus, registry, 'auth', clock);
  const records = new Map<string, ApiKey>();
  const apply = (record: ApiKey): void => {
    if (table.apply(managedKeyOf(record))) records.set(record.keyId, record);
  };
  const catchUp = await CatchUp.of(bus, Topics.apiKeys);
  const producer = bus.producer();
  const subscription = await bus.subscribe(
    {
      groupId: `auth.api-keys.${randomUUID()}`,
      topics: [Topics.apiKeys],
      startFrom: 'earliest',
      commitMode: 'manual',
      deadLetter: deadLetters.sink,
    },
    async (batch) => {
      const poison = [];
      for (const { value, record } of await decodeOrDeadLetter(batch, codec, deadLetters)) {
        try {
          apply(value);
        } catch (error) {
          poison.push({ record, originalBytes: record.value, error });
        }
      }
      await deadLetters.send(poison);
      catchUp.handled(batch);
    },
  );
  return {
    subscription,
    records,
    apply,
    isLoaded: catchUp.isLoaded,
    loaded: catchUp.loaded,
    publish: async (record) => {
      managedKeyOf(record);
      await producer.send(Topics.apiKeys, [{ key: record.keyId, value: codec.encode(record) }]);
      apply(record);
    },
  };
}
