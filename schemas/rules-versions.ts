import { createHash, randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../platform/bus.js';
import { CatchUp } from '../platform/catch-up.js';
import type { Clock } from '../platform/clock.js';
import { ValidationError } from '../platform/errors.js';
import { type Codec, createCodec } from './codec.js';
import { DeadLetterWriter, decodeOrDeadLetter } from './dead-letter.js';
import type { RulesVersion } from './generated/types.js';
import type { SchemaRegistry } from './registry.js';
import { Topics } from './topics.js';

/**
 * The contract of Topics.rulesVersions — the rules admins put in force with `PUT /v1/rules` — and the feed that
 * reads it whole in every process that needs the active rules: each scoring member decides with the newest record,
 * dashboards shows it (`GET /v1/rules/active`). Every record has the same key, so the compacted topic keeps the
 * newest; the rules archive (ClickHouse `rules_versions`) keeps every version ever in force.
 */

/** The one key every record carries: compaction then keeps exactly the rules in force. */
export const ACTIVE_RULES_KEY = 'active';

/**
 * Checks that a record's version is the SHA-256 of its document, so a record written by hand (or damaged) cannot
 * make decisions name a version whose archived text says something else. Throws ValidationError naming the field.
 */
export function checkRulesVersion(record: RulesVersion): RulesVersion {
  const hash = createHash('sha256').update(record.rulesJson, 'utf8').digest('hex');
  if (hash !== record.version)
    throw new ValidationError(
      `rules version ${record.version} does not hash its document`,
      [{ path: '/version', message: `is not the SHA-256 of rulesJson (${hash})` }],
      'RULES_INVALID',
    );
  return record;
}

export interface RulesVersionFeed {
  readonly subscription: Subscription;
  /** The newest record read (or published here); undefined while the topic is empty. */
  latest(): RulesVersion | undefined;
  /** Resolves once every record on the topic when the feed started has been applied. */
  readonly loaded: Promise<void>;
  isLoaded(): boolean;
  /** Writes `record` durably to the topic; every feed (this one included) applies it when it reads it back. */
  publish(record: RulesVersion): Promise<void>;
}

/**
 * Reads Topics.rulesVersions from the earliest offset in a consumer group of its own per process start, never
 * committing, and calls `onRecord` for each valid record in order (awaited: a rejection makes the bus redeliver).
 * Undecodable records and records whose version does not hash their document go to the dead-letter topic.
 */
export async function startRulesVersionFeed(
  bus: Bus,
  registry: SchemaRegistry,
  clock: Clock,
  owner: string,
  onRecord: (record: RulesVersion) => Promise<void> = () => Promise.resolve(),
): Promise<RulesVersionFeed> {
  const codec: Codec<RulesVersion> = await createCodec<RulesVersion>(registry, Topics.rulesVersions);
  const deadLetters = await DeadLetterWriter.create(bus, registry, owner, clock);
  const catchUp = await CatchUp.of(bus, Topics.rulesVersions);
  let latest: RulesVersion | undefined;
  const producer = bus.producer();
  const subscription = await bus.subscribe(
    {
      groupId: `${owner}.rules-versions.${randomUUID()}`,
      topics: [Topics.rulesVersions],
      startFrom: 'earliest',
      commitMode: 'manual',
      deadLetter: deadLetters.sink,
    },
    async (batch) => {
      const poison = [];
      for (const { value, record } of await decodeOrDeadLetter(batch, codec, deadLetters)) {
        let valid: RulesVersion;
        try {
          valid = checkRulesVersion(value);
        } catch (error) {
          poison.push({ record, originalBytes: record.value, error });
          continue;
        }
        await onRecord(valid);
        latest = valid;
      }
      await deadLetters.send(poison);
      catchUp.handled(batch);
    },
  );
  return {
    subscription,
    latest: () => latest,
    loaded: catchUp.loaded,
    isLoaded: catchUp.isLoaded,
    publish: async (record) => {
      checkRulesVersion(record);
      await producer.send(Topics.rulesVersions, [{ key: ACTIVE_RULES_KEY, value: codec.encode(record) }]);
    },
  };
}
