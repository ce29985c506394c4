/**
 * Compact keyed state for streaming features. Every key of one entity kind (card, customer, terminal, device)
 * gets a fixed-size slot in three shared typed-array pools — 64-bit scalars (times, running statistics),
 * 32-bit bucket values (window counts and sums) and 32-bit hashes (bounded "seen" sets) — instead of an
 * object per key. A customer slot is well under 1 KB, so 100k+ keys per kind fit in tens of megabytes, and a
 * snapshot is a handful of array copies; `changes()` copies only the keys touched since the last one.
 *
 * Bounded in time: with `layout.idleMs`, a key whose newest bucket (over all rings) ended `idleMs` or more before
 * an event's time starts that event as a fresh key (`slot(key, ns, timeMs)`), and `evictIdle` physically removes
 * such keys. Because the reset happens per event, in event time, features do not depend on when (or whether) the
 * sweep ran — a live stream and an offline replay stay equal. The one exception is an event older than the sweep
 * cutoff for a key swept in between: it starts fresh where the unswept state would not have; events that late are
 * refused by ingest's maximum event age.
 */

/** One ring of time buckets: `buckets` buckets of `bucketMs` each, `channels` values per bucket (e.g. count, sum). */
export interface RingSpec {
  readonly bucketMs: number;
  readonly buckets: number;
  readonly channels: number;
}

export interface SlotLayout {
  /** 64-bit scalars per slot (besides one per ring for its newest bucket number). */
  readonly scalars: number;
  readonly rings: readonly RingSpec[];
  /** 32-bit hash cells per slot for bounded sets. */
  readonly hashes: number;
  /** Initial value of each scalar for a new key (defaults to 0). */
  readonly scalarDefaults?: readonly number[];
  /** A key idle this long (ms, by its newest bucket) is reset on its next event and removed by `evictIdle`. */
  readonly idleMs?: number;
}

/** Marks a ring that has never been written. */
const NEVER = -1e15;

/**
 * Plain copy of a table: keys as strings, the typed state as copies of its little-endian bytes (the snapshot
 * store writes those bytes as they are — no text encoding of ~100 MB of state on every snapshot).
 */
export interface SlotTableSnapshot {
  readonly keys: readonly string[];
  /** Namespace of each key (same order as `keys`). */
  readonly namespaces: readonly number[];
  readonly f64: Uint8Array;
  readonly f32: Uint8Array;
  readonly i32: Uint8Array;
}

/**
 * What a table changed since its last snapshot or `changes()`: every key created, written or reset, with its whole
 * slot (the layout of a snapshot), and every key removed. Applied in that order — removals, then writes — on top of
 * the state it follows, it gives the table's state; so a snapshot's cost can follow what changed, not the table's size.
 */
export interface SlotTableChanges {
  readonly written: SlotTableSnapshot;
  readonly removedKeys: readonly string[];
  /** Namespace of each removed key (same order as `removedKeys`). */
  readonly removedNamespaces: readonly number[];
}

export class SlotTable {
  /** One map per key namespace (e.g. terminal / merchant / payee), so keys are never concatenated per lookup. */
  private readonly slotByKey: Array<Map<string, number>>;
  /** Per slot: its namespace and key. */
  private readonly keys: string[] = [];
  private readonly namespaces: number[] = [];
  /** Per slot: `layout.scalars` scalars, then one newest-bucket number per ring. */
  readonly f64Stride: number;
  readonly f32Stride: number;
  readonly i32Stride: number;
  /** Offset of each ring's values inside a slot's f32 region. */
  readonly ringOffsets: readonly number[];
  f64: Float64Array;
  f32: Float32Array;
  i32: Int32Array;
  private capacity: number;
  /**
   * Slots handed out by `slot()` since the last snapshot or `changes()`. Every write to a slot — by this class or by a
   * caller writing the pools at an index it was given — follows a `slot()` call for its key, so this covers them all.
   */
  private readonly changed = new Set<number>();
  /** Per namespace, keys removed since the last snapshot or `changes()`. */
  private readonly removed: Array<Set<string>>;

  constructor(
    readonly layout: SlotLayout,
    namespaceCount = 1,
    initialCapacity = 1024,
  ) {
    this.slotByKey = Array.from({ length: namespaceCount }, () => new Map<string, number>());
    this.removed = Array.from({ length: namespaceCount }, () => new Set<string>());
    this.f64Stride = layout.scalars + layout.rings.length;
    const offsets: number[] = [];
    let f32 = 0;
    for (const ring of layout.rings) {
      offsets.push(f32);
      f32 += ring.buckets * ring.channels;
    }
    this.ringOffsets = offsets;
    this.f32Stride = f32;
    this.i32Stride = layout.hashes;
    this.capacity = initialCapacity;
    this.f64 = new Float64Array(initialCapacity * this.f64Stride);
    this.f32 = new Float32Array(initialCapacity * this.f32Stride);
    this.i32 = new Int32Array(initialCapacity * this.i32Stride);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Bytes held by the pools (not counting the key strings). */
  get bytes(): number {
    return this.f64.byteLength + this.f32.byteLength + this.i32.byteLength;
  }

  /** The slot of `key` in `namespace`, or -1 when the key has never been seen. */
  find(key: string, namespace = 0): number {
    return this.slotByKey[namespace]!.get(key) ?? -1;
  }

  /**
   * The slot of `key` in `namespace`, creating a fresh one (all windows empty) when needed. With `timeMs` (the
   * event's time) and `layout.idleMs`, a key idle for `idleMs` at `timeMs` is reset to fresh first.
   */
  slot(key: string, namespace = 0, timeMs?: number): number {
    const existing = this.slotByKey[namespace]!.get(key);
    if (existing !== undefined) {
      const idleMs = this.layout.idleMs;
      if (idleMs !== undefined && timeMs !== undefined && this.lastActiveMs(existing) <= timeMs - idleMs)
        this.initSlot(existing);
      this.changed.add(existing);
      return existing;
    }
    const slot = this.append(key, namespace);
    this.initSlot(slot);
    this.removed[namespace]!.delete(key);
    this.changed.add(slot);
    return slot;
  }

  /** Adds `value` to `channel` of the bucket holding `timeMs` in ring `ring`; events older than the ring are dropped. */
  add(slot: number, ring: number, timeMs: number, channel: number, value: number): void {
    const at = this.bucketIndex(slot, ring, timeMs);
    if (at >= 0) this.f32[at + channel]! += value;
  }

  /**
   * Index in `f32` of channel 0 of the bucket holding `timeMs` (advancing the ring to it), or -1 when the
   * time is older than the ring keeps. Lets a caller write several channels with one bucket computation.
   */
  bucketIndex(slot: number, ring: number, timeMs: number): number {
    const spec = this.layout.rings[ring]!;
    const bucket = Math.floor(timeMs / spec.bucketMs);
    const newestAt = slot * this.f64Stride + this.layout.scalars + ring;
    const newest = this.f64[newestAt]!;
    const base = slot * this.f32Stride + this.ringOffsets[ring]!;
    if (bucket > newest) {
      // Buckets between the old newest and this one are stale: they belonged to times a whole ring ago.
      const stale = newest === NEVER ? spec.buckets : Math.min(spec.buckets, bucket - newest);
      for (let i = 0; i < stale; i++) {
        const at = base + ((bucket - i) % spec.buckets) * spec.channels;
        this.f32.fill(0, at, at + spec.channels);
      }
      this.f64[newestAt] = bucket;
    } else if (newest - bucket >= spec.buckets) {
      return -1;
    }
    return base + (bucket % spec.buckets) * spec.channels;
  }

  /**
   * Sum of `channel` over the `count` buckets ending `skip` buckets before the bucket of `timeMs`, i.e. over
   * bucket numbers (b − skip − count, b − skip] where b = ⌊timeMs / bucketMs⌋. A window's resolution is its
   * bucket width: an event leaves a `count`-bucket window when its bucket does.
   */
  sum(slot: number, ring: number, timeMs: number, channel: number, count: number, skip = 0): number {
    if (slot < 0) return 0;
    const spec = this.layout.rings[ring]!;
    const newest = this.f64[slot * this.f64Stride + this.layout.scalars + ring]!;
    if (newest === NEVER) return 0;
    const last = Math.floor(timeMs / spec.bucketMs) - skip;
    const first = Math.max(last - count + 1, newest - spec.buckets + 1);
    const to = Math.min(last, newest);
    const base = slot * this.f32Stride + this.ringOffsets[ring]!;
    let total = 0;
    for (let b = first; b <= to; b++) total += this.f32[base + (b % spec.buckets) * spec.channels + channel]!;
    return total;
  }

  /** End of the slot's newest written bucket over all rings (ms); −Infinity when no ring was ever written. */
  lastActiveMs(slot: number): number {
    let last = Number.NEGATIVE_INFINITY;
    const at = slot * this.f64Stride + this.layout.scalars;
    for (let r = 0; r < this.layout.rings.length; r++) {
      const newest = this.f64[at + r]!;
      if (newest !== NEVER) last = Math.max(last, (newest + 1) * this.layout.rings[r]!.bucketMs);
    }
    return last;
  }

  /**
   * Removes every key whose newest bucket ended at or before `cutoffMs` (keys with no ring ever written stay: their
   * age is unknown). The last slot moves into each hole, so slot numbers are only valid between calls; the pools
   * shrink when three quarters of them are free. Returns the number of keys removed.
   */
  evictIdle(cutoffMs: number): number {
    let removed = 0;
    let slot = 0;
    while (slot < this.keys.length) {
      if (this.lastActiveMs(slot) > cutoffMs) {
        slot++;
        continue;
      }
      this.removed[this.namespaces[slot]!]!.add(this.keys[slot]!);
      this.removeAt(slot);
      removed++;
    }
    if (removed > 0 && this.capacity > 1024 && this.keys.length < this.capacity / 4)
      this.resize(Math.max(1024, this.keys.length * 2));
    return removed;
  }

  scalar(slot: number, index: number): number {
    return this.f64[slot * this.f64Stride + index]!;
  }

  setScalar(slot: number, index: number, value: number): void {
    this.f64[slot * this.f64Stride + index] = value;
  }

  /**
   * Membership in a bounded set of 32-bit hashes stored in cells [from, from + size) of the slot; when full the
   * oldest entry is overwritten (cursor kept in scalar `cursorScalar`). Returns true if `hash` was already there.
   */
  seenOrRemember(slot: number, from: number, size: number, cursorScalar: number, hash: number): boolean {
    const base = slot * this.i32Stride + from;
    // 0 marks an empty cell, so hashes are forced non-zero.
    const h = hash === 0 ? 1 : hash;
    for (let i = 0; i < size; i++) if (this.i32[base + i] === h) return true;
    const cursor = this.scalar(slot, cursorScalar);
    this.i32[base + (cursor % size)] = h;
    this.setScalar(slot, cursorScalar, cursor + 1);
    return false;
  }

  /** Number of entries in a bounded set (at most its size). */
  setSize(slot: number, cursorScalar: number, size: number): number {
    return slot < 0 ? 0 : Math.min(size, this.scalar(slot, cursorScalar));
  }

  /** A copy of the whole table; the base that the next `changes()` is relative to. */
  snapshot(): SlotTableSnapshot {
    const n = this.keys.length;
    this.forgetChanges();
    return {
      keys: [...this.keys],
      namespaces: [...this.namespaces],
      f64: new Uint8Array(this.f64.buffer, 0, n * this.f64Stride * 8).slice(),
      f32: new Uint8Array(this.f32.buffer, 0, n * this.f32Stride * 4).slice(),
      i32: new Uint8Array(this.i32.buffer, 0, n * this.i32Stride * 4).slice(),
    };
  }

  /**
   * What changed since the last snapshot or `changes()` (copied: the table may change on at once), and the new base
   * for the next call. Costs in proportion to the keys touched since, not to the table.
   */
  changes(): SlotTableChanges {
    // In slot order, so the copy reads the pools front to back.
    const slots = Uint32Array.from(this.changed).sort();
    const { f64Stride, f32Stride, i32Stride } = this;
    const f64 = new Float64Array(slots.length * f64Stride);
    const f32 = new Float32Array(slots.length * f32Stride);
    const i32 = new Int32Array(slots.length * i32Stride);
    for (let i = 0; i < slots.length; i++) {
      copySlot(this.f64, slots[i]!, f64, i, f64Stride);
      copySlot(this.f32, slots[i]!, f32, i, f32Stride);
      copySlot(this.i32, slots[i]!, i32, i, i32Stride);
    }
    const removedKeys: string[] = [];
    const removedNamespaces: number[] = [];
    this.removed.forEach((keys, namespace) => {
      for (const key of keys) {
        removedKeys.push(key);
        removedNamespaces.push(namespace);
      }
    });
    const written: SlotTableSnapshot = {
      keys: Array.from(slots, (slot) => this.keys[slot]!),
      namespaces: Array.from(slots, (slot) => this.namespaces[slot]!),
      f64: new Uint8Array(f64.buffer),
      f32: new Uint8Array(f32.buffer),
      i32: new Uint8Array(i32.buffer),
    };
    this.forgetChanges();
    return { written, removedKeys, removedNamespaces };
  }

  /** Applies `changes()` taken from a table with this layout on top of the state they followed. */
  applyChanges(changes: SlotTableChanges): void {
    const { written, removedKeys, removedNamespaces } = changes;
    const n = written.keys.length;
    const { f64Stride, f32Stride, i32Stride } = this;
    if (
      written.f64.length !== n * f64Stride * 8 ||
      written.f32.length !== n * f32Stride * 4 ||
      written.i32.length !== n * i32Stride * 4
    ) {
      throw new Error(`changes of ${n} keys do not match this table's layout`);
    }
    removedKeys.forEach((key, i) => {
      const slot = this.find(key, removedNamespaces[i] ?? 0);
      if (slot >= 0) this.removeAt(slot);
    });
    const bytes = {
      f64: new Uint8Array(this.f64.buffer),
      f32: new Uint8Array(this.f32.buffer),
      i32: new Uint8Array(this.i32.buffer),
    };
    written.keys.forEach((key, i) => {
      const namespace = written.namespaces[i] ?? 0;
      let slot = this.find(key, namespace);
      if (slot < 0) {
        const capacity = this.capacity;
        slot = this.append(key, namespace);
        if (this.capacity !== capacity) {
          bytes.f64 = new Uint8Array(this.f64.buffer);
          bytes.f32 = new Uint8Array(this.f32.buffer);
          bytes.i32 = new Uint8Array(this.i32.buffer);
        }
      }
      bytes.f64.set(written.f64.subarray(i * f64Stride * 8, (i + 1) * f64Stride * 8), slot * f64Stride * 8);
      bytes.f32.set(written.f32.subarray(i * f32Stride * 4, (i + 1) * f32Stride * 4), slot * f32Stride * 4);
      bytes.i32.set(written.i32.subarray(i * i32Stride * 4, (i + 1) * i32Stride * 4), slot * i32Stride * 4);
    });
    this.forgetChanges();
  }

  restore(snapshot: SlotTableSnapshot): void {
    const n = snapshot.keys.length;
    const { f64, f32, i32 } = snapshot;
    if (
      f64.length !== n * this.f64Stride * 8 ||
      f32.length !== n * this.f32Stride * 4 ||
      i32.length !== n * this.i32Stride * 4
    ) {
      throw new Error(`snapshot of ${n} keys does not match this table's layout`);
    }
    for (const map of this.slotByKey) map.clear();
    this.keys.length = 0;
    this.namespaces.length = 0;
    this.capacity = Math.max(1024, n);
    this.f64 = new Float64Array(this.capacity * this.f64Stride);
    this.f32 = new Float32Array(this.capacity * this.f32Stride);
    this.i32 = new Int32Array(this.capacity * this.i32Stride);
    new Uint8Array(this.f64.buffer).set(f64);
    new Uint8Array(this.f32.buffer).set(f32);
    new Uint8Array(this.i32.buffer).set(i32);
    snapshot.keys.forEach((key, slot) => {
      const namespace = snapshot.namespaces[slot] ?? 0;
      this.keys.push(key);
      this.namespaces.push(namespace);
      this.slotByKey[namespace]!.set(key, slot);
    });
    this.forgetChanges();
  }

  private forgetChanges(): void {
    this.changed.clear();
    for (const keys of this.removed) keys.clear();
  }

  /** A new slot for `key` at the end (its values are whatever the pools hold there). */
  private append(key: string, namespace: number): number {
    const slot = this.keys.length;
    if (slot >= this.capacity) this.grow(slot + 1);
    this.keys.push(key);
    this.namespaces.push(namespace);
    this.slotByKey[namespace]!.set(key, slot);
    return slot;
  }

  /** Removes the key at `slot`; the last slot moves into the hole (and keeps its place among the changed ones). */
  private removeAt(slot: number): void {
    const last = this.keys.length - 1;
    this.slotByKey[this.namespaces[slot]!]!.delete(this.keys[slot]!);
    this.changed.delete(slot);
    if (slot !== last) {
      this.f64.copyWithin(slot * this.f64Stride, last * this.f64Stride, (last + 1) * this.f64Stride);
      this.f32.copyWithin(slot * this.f32Stride, last * this.f32Stride, (last + 1) * this.f32Stride);
      this.i32.copyWithin(slot * this.i32Stride, last * this.i32Stride, (last + 1) * this.i32Stride);
      this.keys[slot] = this.keys[last]!;
      this.namespaces[slot] = this.namespaces[last]!;
      this.slotByKey[this.namespaces[slot]]!.set(this.keys[slot], slot);
      if (this.changed.delete(last)) this.changed.add(slot);
    }
    this.keys.pop();
    this.namespaces.pop();
  }

  private initSlot(slot: number): void {
    // Zeroed because a slot may be reused (after evictIdle) or reset: stale hash cells would read as "seen".
    this.f32.fill(0, slot * this.f32Stride, (slot + 1) * this.f32Stride);
    this.i32.fill(0, slot * this.i32Stride, (slot + 1) * this.i32Stride);
    const base = slot * this.f64Stride;
    const defaults = this.layout.scalarDefaults ?? [];
    for (let i = 0; i < this.layout.scalars; i++) this.f64[base + i] = defaults[i] ?? 0;
    for (let r = 0; r < this.layout.rings.length; r++) this.f64[base + this.layout.scalars + r] = NEVER;
  }

  private grow(minSlots: number): void {
    this.resize(Math.max(minSlots, this.capacity * 2));
  }

  /** Reallocates the pools for `capacity` slots (≥ size), copying the live slots. */
  private resize(capacity: number): void {
    const n = this.keys.length;
    this.capacity = capacity;
    const f64 = new Float64Array(capacity * this.f64Stride);
    f64.set(this.f64.subarray(0, n * this.f64Stride));
    const f32 = new Float32Array(capacity * this.f32Stride);
    f32.set(this.f32.subarray(0, n * this.f32Stride));
    const i32 = new Int32Array(capacity * this.i32Stride);
    i32.set(this.i32.subarray(0, n * this.i32Stride));
    this.f64 = f64;
    this.f32 = f32;
    this.i32 = i32;
  }
}

/**
 * Copies slot `from` of `source` to slot `to` of `target` (`stride` values each) element by element: for slots of a few
 * hundred values this beats `set(subarray(…))`, which allocates a view per call.
 */
function copySlot<T extends Float64Array | Float32Array | Int32Array>(
  source: T,
  from: number,
  target: T,
  to: number,
  stride: number,
): void {
  const s = from * stride;
  const t = to * stride;
  for (let k = 0; k < stride; k++) target[t + k] = source[s + k]!;
}

/** FNV-1a 32-bit hash of a string; for bounded membership sets (a rare collision reads as "seen before"). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
