/**
 * Where the pipeline thread's time goes: a V8 CPU profile (the `Profiler.Profile` that `node:inspector` returns)
 * split by stage. Pure functions of the profile, so they are unit-tested on synthetic profiles.
 *
 * Every stage runs on the pipeline process's one JavaScript thread, so a sample belongs to the stage whose source
 * folder is the NEAREST enclosing frame on the sample's stack: avsc or chDB called from ledger-sink is
 * ledger-sink's cost, the embedded log called from scoring's send is scoring's. Samples whose stack holds no stage
 * frame are "shared" (platform/, schemas/, embedded/ — e.g. the embedded log's fsync completions, which resume
 * outside any stage's stack), "bench" (the benchmark's own consumer in this process), V8's pseudo-frames
 * ("gc", "idle", "program": native work on this thread outside JavaScript), or "other" (Node internals and
 * libraries with no project frame above them, such as the HTTP parser).
 */

/** The subset of the DevTools protocol's `Profiler.Profile` this module reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** The stages of the pipeline, by source folder. */
export const STAGES = ['ingest', 'scoring', 'ledger-sink', 'dashboards', 'notifier'] as const;
export type Stage = (typeof STAGES)[number];

/** Everything a sample can be attributed to. */
export const CATEGORIES = [...STAGES, 'shared', 'bench', 'gc', 'program', 'other', 'idle'] as const;
export type Category = (typeof CATEGORIES)[number];

const SHARED_FOLDERS = ['platform', 'schemas', 'embedded'];
// A Map, not an object literal: a frame named `constructor` or `toString` must not find Object's prototype.
const PSEUDO_FRAMES: ReadonlyMap<string, Category> = new Map<string, Category>([
  ['(garbage collector)', 'gc'],
  ['(idle)', 'idle'],
  ['(program)', 'program'],
  ['(root)', 'other'],
]);

/** A frame's self time within one category. */
export interface FrameTime {
  /** `function path` relative to the project, `function path:line` (1-based) for JavaScript in a library. */
  readonly frame: string;
  readonly selfUs: number;
}

export interface Attribution {
  /** Sampled wall time of the thread per category, µs (sums to the profile's sampled time). */
  readonly us: Readonly<Record<Category, number>>;
  /** Per category, the frames with the most self time, most first. */
  readonly topFrames: Readonly<Record<Category, readonly FrameTime[]>>;
  readonly samples: number;
}

/**
 * The project folder of a script URL (`file:///…/<root>/scoring/app/scorer.ts` → `scoring`), or undefined for a
 * script outside the project or inside node_modules.
 */
export function projectFolderOf(url: string, rootUrl: string): string | undefined {
  if (!url.startsWith(rootUrl)) return undefined;
  const rest = url.slice(rootUrl.length).replace(/^\/+/, '');
  if (rest.startsWith('node_modules/')) return undefined;
  const slash = rest.indexOf('/');
  return slash < 0 ? undefined : rest.slice(0, slash);
}

/**
 * Attributes every sample of `profile` (see the module comment). `rootUrl` is the project's root as a file URL
 * (`file:///srv/vigil`); `top` bounds the frames kept per category.
 */
export function attributeProfile(profile: CpuProfile, rootUrl: string, top = 8): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const categoryOf = new Map<number, Category>();
  const categorise = (id: number): Category => {
    const known = categoryOf.get(id);
    if (known !== undefined) return known;
    const pseudo = PSEUDO_FRAMES.get(byId.get(id)?.callFrame.functionName ?? '');
    let category: Category | undefined = pseudo;
    let sharedSeen = false;
    let benchSeen = false;
    for (let at: number | undefined = id; category === undefined && at !== undefined; at = parentOf.get(at)) {
      const folder = projectFolderOf(byId.get(at)?.callFrame.url ?? '', rootUrl);
      if (folder === undefined) continue;
      if ((STAGES as readonly string[]).includes(folder)) category = folder as Stage;
      else if (SHARED_FOLDERS.includes(folder)) sharedSeen = true;
      else if (folder === 'bench') benchSeen = true;
    }
    // No stage above: the nearest project code decides between bench and shared.
    category ??= benchSeen ? 'bench' : sharedSeen ? 'shared' : 'other';
    categoryOf.set(id, category);
    return category;
  };

  const us = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const selfUs = Object.fromEntries(CATEGORIES.map((c) => [c, new Map<string, number>()])) as Record<
    Category,
    Map<string, number>
  >;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Sample i lasts until sample i + 1 is taken (the DevTools convention); the last one until the profile's end.
  let at = profile.startTime;
  const stamps = deltas.map((d) => (at += d));
  for (let i = 0; i < samples.length; i++) {
    const next = i + 1 < samples.length ? stamps[i + 1]! : profile.endTime;
    const duration = Math.max(0, next - (stamps[i] ?? next));
    const id = samples[i]!;
    const category = categorise(id);
    us[category] += duration;
    const frame = frameName(byId.get(id)?.callFrame, rootUrl);
    const frames = selfUs[category];
    frames.set(frame, (frames.get(frame) ?? 0) + duration);
  }
  const topFrames = Object.fromEntries(
    CATEGORIES.map((c) => [
      c,
      [...selfUs[c]]
        .map(([frame, self]) => ({ frame, selfUs: self }))
        .sort((a, b) => b.selfUs - a.selfUs || a.frame.localeCompare(b.frame))
        .slice(0, top),
    ]),
  ) as Record<Category, FrameTime[]>;
  return { us, topFrames, samples: samples.length };
}

function frameName(callFrame: CpuProfile['nodes'][number]['callFrame'] | undefined, rootUrl: string): string {
  if (callFrame === undefined) return '(unknown)';
  const name = callFrame.functionName === '' ? '(anonymous)' : callFrame.functionName;
  if (callFrame.url === '') return name;
  const path = callFrame.url.startsWith(rootUrl)
    ? callFrame.url.slice(rootUrl.length).replace(/^\/+/, '')
    : callFrame.url.replace(/^.*\/node_modules\//, '');
  // tsx compiles each .ts file on load, so a project frame's line is the compiled code's, not the source's.
  return path.endsWith('.ts') ? `${name} ${path}` : `${name} ${path}:${callFrame.lineNumber + 1}`;
}
