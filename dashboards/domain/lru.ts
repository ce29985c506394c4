/**
 * Remembers the most recent `capacity` ids, so a redelivered alert (the bus delivers at least once) is not
 * pushed to analysts twice. Bounded: the oldest id is forgotten when a new one arrives at capacity.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** True the first time `id` is seen (and remembers it); false while it is still remembered. */
  firstSight(id: string): boolean {
    if (this.ids.has(id)) {
      // Refresh recency: a Set iterates in insertion order, so re-inserting moves the id to the young end.
      this.ids.delete(id);
      this.ids.add(id);
      return false;
    }
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }

  /** True while `id` is remembered; unlike firstSight, neither remembers it nor refreshes its recency. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
