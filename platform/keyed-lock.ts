/**
 * In-process mutual exclusion per key. `acquire` registers for all its keys at once (synchronously), so holders
 * are totally ordered by registration and a request waiting on several keys can never deadlock with another.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves, with a release function, once no earlier holder of any of `keys` remains. */
  async acquire(keys: Iterable<string>): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const unique = new Set(keys);
    const earlier: Promise<void>[] = [];
    for (const key of unique) {
      const tail = this.tails.get(key);
      if (tail) earlier.push(tail);
      this.tails.set(key, held);
    }
    if (earlier.length > 0) await Promise.all(earlier);
    return () => {
      release();
      for (const key of unique) if (this.tails.get(key) === held) this.tails.delete(key);
    };
  }

  /** Keys currently held or waited for (for tests and leak checks). */
  get size(): number {
    return this.tails.size;
  }
}
