import type { Bus, Subscription } from '../../platform/bus.js';
import { CatchUp } from '../../platform/catch-up.js';
import type { Codec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type { Account } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';

/**
 * The chart of accounts in memory: the latest `vigil.Account` per account id, as Topics.accounts holds it. A
 * record older (by `updatedAtMs`) than the one the table has is ignored, so applying a record twice, or out of
 * order (a PUT applies its record at once, and the feed applies it again later), leaves the newest in place.
 */
export class AccountTable {
  private readonly accounts = new Map<string, Account>();

  /** Keeps `account` unless the table already has a newer record of it; true when it was kept. */
  apply(account: Account): boolean {
    const current = this.accounts.get(account.accountId);
    // An equal time keeps the later-applied record: the log's order decides between two writes in the same ms.
    if (current !== undefined && current.updatedAtMs > account.updatedAtMs) return false;
    this.accounts.set(account.accountId, account);
    return true;
  }

  get(accountId: string): Account | undefined {
    return this.accounts.get(accountId);
  }

  /** The first `limit` accounts by account id (UTF-16 code-unit order, the order `Array.prototype.sort` gives). */
  list(limit = Number.POSITIVE_INFINITY): Account[] {
    return [...this.accounts.keys()]
      .sort()
      .slice(0, limit)
      .map((id) => this.accounts.get(id)!);
  }

  get size(): number {
    return this.accounts.size;
  }
}

export interface AccountFeed {
  readonly subscription: Subscription;
  /** True once every record on the topic when the feed started is in the table (and from then on). */
  isLoaded(): boolean;
}

/**
 * Reads Topics.accounts whole into `table`. Every process needs every account, so the feed joins a group of its
 * own (`groupId`, fresh per process start: it is then assigned every partition) from the earliest offset, and
 * never commits: the next start reads the topic from the beginning again, which compaction keeps short.
 * Undecodable records go to the dead-letter topic, as everywhere.
 */
export async function startAccountFeed(
  bus: Bus,
  codec: Codec<Account>,
  deadLetters: DeadLetterWriter,
  table: AccountTable,
  groupId: string,
): Promise<AccountFeed> {
  const catchUp = await CatchUp.of(bus, Topics.accounts);
  const subscription = await bus.subscribe(
    {
      groupId,
      topics: [Topics.accounts],
      startFrom: 'earliest',
      commitMode: 'manual',
      deadLetter: deadLetters.sink,
    },
    async (batch) => {
      for (const { value } of await decodeOrDeadLetter(batch, codec, deadLetters)) table.apply(value);
      catchUp.handled(batch);
    },
  );
  return {
    subscription,
    isLoaded: catchUp.isLoaded,
  };
}
