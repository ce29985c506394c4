import type { Random, RandomState } from './random.js';

/** Where the timeline is: the bucket, the random state its times were drawn from, and the next time's index. */
export interface TimelineState {
  readonly day: number;
  readonly bucket: number;
  readonly bucketRandom: RandomState | null;
  readonly position: number;
}
import { normalCdf, normalQuantile } from './random.js';

export const DAY_MS = 86_400_000;
const DAY_SECONDS = 86_400;
/** The handbook: times of day are normal around noon with sd 20,000 s; times outside the day are dropped. */
const TIME_OF_DAY_MEAN_SECONDS = 43_200;
const TIME_OF_DAY_SD_SECONDS = 20_000;
/** Share of a day's normally-distributed times that fall inside the day (≈ 0.969). */
export const IN_DAY_SHARE =
  normalCdf((DAY_SECONDS - TIME_OF_DAY_MEAN_SECONDS) / TIME_OF_DAY_SD_SECONDS) -
  normalCdf(-TIME_OF_DAY_MEAN_SECONDS / TIME_OF_DAY_SD_SECONDS);
/** Cap on one time bucket's expected base transactions, so memory stays flat at any rate. */
const MAX_EXPECTED_PER_BUCKET = 50_000;

/**
 * The event times of genuine traffic: one Poisson process per time bucket of the day (the superposition of
 * every customer's process), times of day normal around noon as in the handbook. Only one bucket's times are
 * held at once, so memory stays flat at any rate. Times come out in non-decreasing order.
 */
export class ArrivalTimeline {
  private readonly bucketsPerDay: number;
  private readonly bucketCdf: Float64Array;
  private times = new Float64Array(0);
  private timesLength = 0;
  private timesPosition = 0;
  private currentDay = -1;
  private currentBucket = -1;
  /** The random state just before the current bucket's times were drawn (they are redrawn on restore). */
  private bucketRandom: RandomState | null = null;

  /**
   * `random` is shared with the genuine traffic's other draws (the order of draws is the stream);
   * `onDayStart` runs before the first time of each day is drawn.
   */
  constructor(
    private readonly random: Random,
    private readonly startTimeMs: number,
    private readonly dailyRate: number,
    private readonly onDayStart: (day: number, dayStartMs: number) => void,
  ) {
    this.bucketsPerDay = Math.max(24, Math.ceil(dailyRate / MAX_EXPECTED_PER_BUCKET));
    this.bucketCdf = new Float64Array(this.bucketsPerDay + 1);
    for (let k = 0; k <= this.bucketsPerDay; k++) {
      this.bucketCdf[k] = normalCdf(
        ((k * DAY_SECONDS) / this.bucketsPerDay - TIME_OF_DAY_MEAN_SECONDS) / TIME_OF_DAY_SD_SECONDS,
      );
    }
  }

  /** Whole days since the start of the day of the latest time drawn. */
  get day(): number {
    return this.currentDay;
  }

  /** The next genuine event time (epoch ms), drawing the next buckets as needed; `advance()` consumes it. */
  peek(): number {
    while (this.timesPosition >= this.timesLength) this.fillNextBucket();
    return this.times[this.timesPosition]!;
  }

  advance(): void {
    this.timesPosition++;
  }

  /** The position; small, because the bucket's times are not in it (see `restore`). */
  save(): TimelineState {
    return {
      day: this.currentDay,
      bucket: this.currentBucket,
      bucketRandom: this.bucketRandom,
      position: this.timesPosition,
    };
  }

  /**
   * Continues from a saved position: redraws the bucket's times from the saved random state (the same draws,
   * so the same times), then skips the consumed ones. The caller restores the shared random's current state
   * afterwards, since the redraw moves it.
   */
  restore(state: TimelineState): void {
    this.currentDay = state.day;
    this.currentBucket = state.bucket;
    this.bucketRandom = state.bucketRandom;
    this.timesLength = 0;
    this.timesPosition = 0;
    if (state.bucketRandom === null) return;
    this.random.restore(state.bucketRandom);
    this.drawBucketTimes();
    if (!(Number.isSafeInteger(state.position) && state.position >= 0 && state.position <= this.timesLength))
      throw new RangeError(`timeline position ${state.position} is outside its bucket of ${this.timesLength} times`);
    this.timesPosition = state.position;
  }

  private fillNextBucket(): void {
    if (this.currentBucket + 1 >= this.bucketsPerDay || this.currentDay < 0) {
      this.currentDay++;
      this.currentBucket = 0;
      this.onDayStart(this.currentDay, this.startTimeMs + this.currentDay * DAY_MS);
    } else {
      this.currentBucket++;
    }
    this.bucketRandom = this.random.save();
    this.drawBucketTimes();
  }

  private drawBucketTimes(): void {
    const k = this.currentBucket;
    const low = this.bucketCdf[k]!;
    const high = this.bucketCdf[k + 1]!;
    const count = this.random.poisson(this.dailyRate * (high - low));
    if (this.times.length < count) this.times = new Float64Array(Math.max(count, this.times.length * 2, 1024));
    const dayStartMs = this.startTimeMs + this.currentDay * DAY_MS;
    const bucketStartMs = dayStartMs + (k * DAY_MS) / this.bucketsPerDay;
    const bucketEndMs = dayStartMs + ((k + 1) * DAY_MS) / this.bucketsPerDay;
    for (let i = 0; i < count; i++) {
      const seconds =
        TIME_OF_DAY_MEAN_SECONDS + TIME_OF_DAY_SD_SECONDS * normalQuantile(low + (high - low) * this.random.next());
      const ms = Math.floor(dayStartMs + seconds * 1000);
      // The two approximations (Φ, Φ⁻¹) disagree in the 7th digit; keep the time inside its bucket.
      this.times[i] = Math.min(Math.max(ms, Math.ceil(bucketStartMs)), Math.ceil(bucketEndMs) - 1);
    }
    this.times.subarray(0, count).sort();
    this.timesLength = count;
    this.timesPosition = 0;
  }
}
