/**
 * Resumable event ids of the live alert stream, kept pure so resuming can be specified on plain data.
 *
 * A position of the feed is, for every partition of `fraud.alerts`, the offset of the next record not yet
 * covered: everything below it on that partition has been sent (or was undecodable, or a duplicate). Each
 * `alert` message carries the position just after its alert, as an event id. A reconnecting client presents
 * the last id it saw and gets every alert of the log at or above that position, then the live stream.
 *
 * A single offset cannot be an id: alerts from several partitions reach the hub interleaved in an order the
 * log does not record, so only the whole vector says what a client has seen. Offsets are the log's own
 * positions, so an id is the same on every dashboards replica and survives a restart of dashboards.
 *
 * Text form: `v1-` then the next offsets in partition order, decimal, joined by `.` (`v1-12.0.7` for three
 * partitions). Every character is URL-unreserved (RFC 3986 §2.3), so the id goes into a query string as is.
 * Its length grows with the partition count (about 8 bytes a partition at millions of records).
 */
export type FeedPosition = readonly number[];

const PREFIX = 'v1-';
const DECIMAL = /^(0|[1-9][0-9]*)$/;
/** Longest id text accepted: bounds parsing work on untrusted input (10 000 partitions, Kafka's practical limit, × 17 chars). */
export const MAX_EVENT_ID_LENGTH = 170_000;

/** The text form of `position`. Throws RangeError on a negative or non-integer offset (a bug, not input). */
export function formatEventId(position: FeedPosition): string {
  for (const offset of position)
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`not an offset: ${offset}`);
  return PREFIX + position.join('.');
}

export type ParsedEventId =
  { readonly ok: true; readonly position: FeedPosition } | { readonly ok: false; readonly problem: string };

/**
 * Parses an id presented by a client against a topic of `partitions` partitions. Never throws: a malformed id,
 * or one with another partition count (another topic or cluster), is a problem to report, not an exception.
 */
export function parseEventId(text: string, partitions: number): ParsedEventId {
  if (text.length > MAX_EVENT_ID_LENGTH) return { ok: false, problem: `longer than ${MAX_EVENT_ID_LENGTH} characters` };
  if (!text.startsWith(PREFIX)) return { ok: false, problem: `must start with "${PREFIX}"` };
  const parts = text.slice(PREFIX.length).split('.');
  if (parts.length !== partitions)
    return { ok: false, problem: `has ${parts.length} offsets, the topic has ${partitions} partitions` };
  const position: number[] = [];
  for (const [partition, part] of parts.entries()) {
    const offset = DECIMAL.test(part) ? Number(part) : Number.NaN;
    if (!Number.isSafeInteger(offset))
      return { ok: false, problem: `offset ${partition} is not a non-negative decimal integer` };
    position.push(offset);
  }
  return { ok: true, position };
}

/** `position` moved past the record at `offset` of `partition` (never backwards: redeliveries do not move it). */
export function positionAfter(position: FeedPosition, partition: number, offset: number): FeedPosition {
  if (offset < position[partition]!) return position;
  const next = [...position];
  next[partition] = offset + 1;
  return next;
}

/** The partition-wise maximum of two positions of the same topic. */
export function laterOf(a: FeedPosition, b: FeedPosition): FeedPosition {
  return a.map((offset, partition) => Math.max(offset, b[partition]!));
}

/** True when `a` is at or past `b` on every partition. */
export function covers(a: FeedPosition, b: FeedPosition): boolean {
  return a.every((offset, partition) => offset >= b[partition]!);
}

/** Records from `from` up to `to`, summed over partitions; an upper bound on the alerts among them. */
export function recordsBetween(from: FeedPosition, to: FeedPosition): number {
  return from.reduce((sum, offset, partition) => sum + Math.max(0, to[partition]! - offset), 0);
}

/** One partition's records to replay: offsets [fromOffset, toOffset). */
export interface ReplayRange {
  readonly partition: number;
  readonly fromOffset: number;
  readonly toOffset: number;
}

export type ResumePlan =
  /**
   * Replay `ranges` (`records` offsets in all), then go live. `floor` is the presented position: where it is
   * past what the hub has published (this replica is behind the one the client came from), live alerts below
   * it are already with the client and are not sent again.
   */
  | {
      readonly kind: 'replay';
      readonly ranges: readonly ReplayRange[];
      readonly records: number;
      readonly floor: FeedPosition;
    }
  /** More than the bound was missed: tell the client there is a gap and go live. */
  | { readonly kind: 'gap'; readonly reason: 'too-many-missed'; readonly missedAtMost: number }
  /** The id is not a position of this log (past its end: another cluster, or a log that lost its tail). */
  | { readonly kind: 'gap'; readonly reason: 'unknown-event-id'; readonly problem: string };

/**
 * What a client presenting `presented` should get, given what the hub has published (`published`), the log's
 * end offsets (`logEnd`) and the most records one catch-up may replay (`maxCatchUpRecords`, counted as offsets,
 * so an upper bound on alerts). Everything at or past `published` reaches the client live; everything below it
 * and at or past `presented` is replayed.
 */
export function planResume(
  presented: FeedPosition,
  published: FeedPosition,
  logEnd: FeedPosition,
  maxCatchUpRecords: number,
): ResumePlan {
  const pastEnd = presented.findIndex((offset, partition) => offset > logEnd[partition]!);
  if (pastEnd >= 0) {
    return {
      kind: 'gap',
      reason: 'unknown-event-id',
      problem: `offset ${presented[pastEnd]} is past the end (${logEnd[pastEnd]}) of partition ${pastEnd}`,
    };
  }
  const records = recordsBetween(presented, published);
  if (records > maxCatchUpRecords) return { kind: 'gap', reason: 'too-many-missed', missedAtMost: records };
  return { kind: 'replay', ranges: rangesBetween(presented, published), records, floor: presented };
}

/** The per-partition ranges from `from` up to `to` that hold records (empty ranges left out). */
export function rangesBetween(from: FeedPosition, to: FeedPosition): ReplayRange[] {
  return from.flatMap((fromOffset, partition) =>
    fromOffset < to[partition]! ? [{ partition, fromOffset, toOffset: to[partition]! }] : [],
  );
}
