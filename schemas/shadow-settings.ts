import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../platform/bus.js';
import { CatchUp } from '../platform/catch-up.js';
import type { Clock } from '../platform/clock.js';
import { createCodec } from './codec.js';
import { DeadLetterWriter, decodeOrDeadLetter } from './dead-letter.js';
import type { ShadowSetting } from './generated/types.js';
import type { SchemaRegistry } from './registry.js';
import { checkRulesVersion } from './rules-versions.js';
import { Topics } from './topics.js';

/**
 * The contract of Topics.shadowSettings — the champion-challenger setting admins change with `PUT`/`DELETE
 * /v1/shadow` and `POST /v1/shadow/promote` — and the feed that reads it whole in every process that needs it: each
 * scoring member scores with the challenger it names beside the champion and switches to the model a promotion made
 * champion; dashboards shows it (`GET /v1/shadow`). Every record has the same key and carries the whole setting, so
 * the compacted topic keeps exactly the setting in force.
 */

/** The one key every record carries. */
export const SHADOW_SETTING_KEY = 'active';

/**
 * Checks that a challenger's rules version hashes its document (as rules versions must), so no record can make
 * shadow decisions name a version whose text says something else. Throws ValidationError naming the field.
 */
export function checkShadowSetting(record: ShadowSetting): ShadowSetting {
  if (record.challengerRulesJson !== null || record.challengerRulesVersion !== null)
    checkRulesVersion({
      version: record.challengerRulesVersion ?? '',
      rulesJson: record.challengerRulesJson ?? '',
      label: record.challengerRulesLabel ?? '',
      publishedBy: record.changedBy,
      publishedAtMs: record.changedAtMs,
    });
  return record;
}

/** True when the setting names a challenger (rules, model or both). */
export function hasChallenger(setting: ShadowSetting | undefined): boolean {
  return setting !== undefined && (setting.challengerRulesJson !== null || setting.challengerModelVersion !== null);
}

export interface ShadowSettingFeed {
  readonly subscription: Subscription;
  /** The newest record read (or published here); undefined while the topic is empty. */
  latest(): ShadowSetting | undefined;
  /** Resolves once every record on the topic when the feed started has been applied. */
  readonly loaded: Promise<void>;
  isLoaded(): boolean;
  /** Writes `record` durably to the topic; every feed (this one included) applies it when it reads it back. */
  publish(record: ShadowSetting): Promise<void>;
}

/**
 * Reads Topics.shadowSettings from the earliest offset in a consumer group of its own per process start, never
 * committing, and calls `onRecord` for each valid record in order (awaited: a rejection makes the bus redeliver).
 * Undecodable records and records whose rules version does not hash their document go to the dead-letter topic.
 */
export async function startShadowSettingFeed(
  bus: Bus,
  registry: SchemaRegistry,
  clock: Clock,
  owner: string,
  onRecord: (record: ShadowSetting) => Promise<void> = () => Promise.resolve(),
): Promise<ShadowSettingFeed> {
  const codec = await createCodec<ShadowSetting>(registry, Topics.shadowSettings);
  const deadLetters = await DeadLetterWriter.create(bus, registry, owner, clock);
  const catchUp = await CatchUp.of(bus, Topics.shadowSettings);
  let latest: ShadowSetting | undefined;
  const producer = bus.producer();
  const subscription = await bus.subscribe(
    {
      groupId: `${owner}.shadow-settings.${randomUUID()}`,
      topics: [Topics.shadowSettings],
      startFrom: 'earliest',
      commitMode: 'manual',
      deadLetter: deadLetters.sink,
    },
    async (batch) => {
      const poison = [];
      for (const { value, record } of await decodeOrDeadLetter(batch, codec, deadLetters)) {
        let valid: ShadowSetting;
        try {
          valid = checkShadowSetting(value);
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
      checkShadowSetting(record);
      await producer.send(Topics.shadowSettings, [{ key: SHADOW_SETTING_KEY, value: codec.encode(record) }]);
    },
  };
}
