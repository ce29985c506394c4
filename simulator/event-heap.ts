import type { DraftEvent } from './traffic-event.js';

/** A binary min-heap of scheduled events (injected fraud, card-flow follow-ups), by time and then by insertion order (deterministic ties). */
export class EventHeap {
  private readonly items: Array<{ event: DraftEvent; order: number }> = [];
  private inserted = 0;

  /** The heap's entries in heap order, and the insertion counter: with `restore`, the exact same heap. */
  save<T>(encode: (event: DraftEvent) => T): { readonly inserted: number; readonly items: Array<[number, T]> } {
    return { inserted: this.inserted, items: this.items.map((item) => [item.order, encode(item.event)]) };
  }

  /** Replaces the contents with what `save` returned (decoded); the array is in heap order already. */
  restore<T>(
    saved: { readonly inserted: number; readonly items: ReadonlyArray<readonly [number, T]> },
    decode: (encoded: T) => DraftEvent,
  ): void {
    this.items.length = 0;
    for (const [order, encoded] of saved.items) this.items.push({ event: decode(encoded), order });
    this.inserted = saved.inserted;
  }

  get size(): number {
    return this.items.length;
  }

  peekTime(): number {
    return this.items.length === 0 ? Infinity : this.items[0]!.event.timeMs;
  }

  push(event: DraftEvent): void {
    const items = this.items;
    items.push({ event, order: this.inserted++ });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): DraftEvent {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(left, smallest)) smallest = left;
        if (right < items.length && this.less(right, smallest)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top.event;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.event.timeMs < y.event.timeMs || (x.event.timeMs === y.event.timeMs && x.order < y.order);
  }
}
