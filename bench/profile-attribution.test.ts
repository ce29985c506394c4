import { type CpuProfile, attributeProfile, projectFolderOf } from './profile-attribution.js';

const root = 'file:///srv/vigil';

/** A profile from a list of stacks (outermost frame first), one sample each, every sample lasting `us[i]`. */
function profileOf(stacks: ReadonlyArray<readonly string[]>, us: readonly number[]): CpuProfile {
  const nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children: number[];
  }> = [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [] }];
  const leafOf = (stack: readonly string[]): number => {
    let parent = nodes[0]!;
    for (const frame of stack) {
      // `name@path` for a script frame, a bare name for V8's pseudo-frames and natives.
      const [functionName, path] = frame.split('@') as [string, string | undefined];
      const url = path === undefined ? '' : path.startsWith('/') ? `file://${path}` : `${root}/${path}`;
      let node = parent.children.map((id) => nodes[id - 1]!).find((n) => n.callFrame.functionName === functionName);
      if (node === undefined) {
        node = { id: nodes.length + 1, callFrame: { functionName, url, lineNumber: 9 }, children: [] };
        nodes.push(node);
        parent.children.push(node.id);
      }
      parent = node;
    }
    return parent.id;
  };
  const samples = stacks.map(leafOf);
  // The first delta is from startTime to the first sample; sample i lasts until sample i + 1.
  return { nodes, startTime: 0, endTime: us.reduce((a, b) => a + b, 0), samples, timeDeltas: [0, ...us.slice(0, -1)] };
}

describe('projectFolderOf', () => {
  it('names the top folder of a project script and nothing for libraries or foreign scripts', () => {
    expect(projectFolderOf(`${root}/scoring/app/scorer.ts`, root)).toBe('scoring');
    expect(projectFolderOf(`${root}/node_modules/avsc/lib/types.js`, root)).toBeUndefined();
    expect(projectFolderOf('node:internal/http', root)).toBeUndefined();
    expect(projectFolderOf(`${root}/README.md`, root)).toBeUndefined();
  });
});

describe('attributeProfile', () => {
  const stacks = [
    // avsc called from ledger-sink, under the embedded log's delivery: ledger-sink's (nearest stage frame)
    [
      'deliver@platform/embedded-log/subscription.ts',
      'handle@ledger-sink/app/ledger-writer.ts',
      'read@/x/node_modules/avsc/lib/types.js',
    ],
    // the embedded log called from scoring's send: scoring's
    ['handle@scoring/app/scorer.ts', 'send@platform/embedded-log/embedded-log.ts'],
    // an fsync completion resuming outside any stage: shared
    ['onFsync@platform/embedded-log/partition-log.ts'],
    // the benchmark's own consumer decoding with schemas/: bench
    ['onScored@bench/load.ts', 'decode@schemas/codec.ts'],
    // Node's HTTP parser with no project frame: other
    ['parserOnHeadersComplete@node:_http_common'],
    ['(garbage collector)'],
    ['(idle)'],
    ['(program)'],
    ['publish@dashboards/app/live-feed.ts'],
    ['accept@ingest/app/ingestor.ts', 'hash@node:crypto'],
    // a frame named like a property of Object.prototype is an ordinary frame
    ['notify@notifier/app/fan-out.ts', 'constructor@/x/node_modules/ws/lib/websocket.js'],
  ];
  const us = [100, 200, 40, 30, 20, 10, 1000, 5, 7, 60, 3];

  it('gives every sample to the nearest enclosing stage, else shared, bench, a pseudo-frame or other', () => {
    const attribution = attributeProfile(profileOf(stacks, us), root);
    expect(attribution.us).toEqual({
      ingest: 60,
      scoring: 200,
      'ledger-sink': 100,
      dashboards: 7,
      notifier: 3,
      shared: 40,
      bench: 30,
      gc: 10,
      program: 5,
      other: 20,
      idle: 1000,
    });
    expect(attribution.samples).toBe(11);
    // Self time is the leaf's: the library frame, relative to node_modules.
    expect(attribution.topFrames['ledger-sink']).toEqual([{ frame: 'read avsc/lib/types.js:10', selfUs: 100 }]);
    expect(attribution.topFrames.scoring).toEqual([
      { frame: 'send platform/embedded-log/embedded-log.ts', selfUs: 200 },
    ]);
  });

  it('sums to the sampled time and ranks frames by self time', () => {
    const repeated = attributeProfile(
      profileOf(
        [['a@scoring/domain/features.ts'], ['b@scoring/app/scorer.ts'], ['a@scoring/domain/features.ts']],
        [10, 15, 10],
      ),
      root,
    );
    expect(repeated.us.scoring).toBe(35);
    expect(repeated.topFrames.scoring.map((f) => [f.frame, f.selfUs])).toEqual([
      ['a scoring/domain/features.ts', 20],
      ['b scoring/app/scorer.ts', 15],
    ]);
  });

  it('negative control: attributing by the outermost stage frame instead would move the nested sample', () => {
    // A stage frame under another stage's frame cannot happen in the pipeline (stages do not call each other),
    // but it shows that the nearest frame decides: scoring's frame is nearer the leaf than ingest's.
    const nested = attributeProfile(
      profileOf([['outer@ingest/app/ingestor.ts', 'inner@scoring/app/scorer.ts', 'leaf@platform/bus.ts']], [50]),
      root,
    );
    expect(nested.us.scoring).toBe(50);
    expect(nested.us.ingest).toBe(0);
    // And a sample outside the project root is never a stage's, even in a folder named like one.
    const foreign = attributeProfile(profileOf([['handle@/elsewhere/scoring/app/scorer.ts']], [50]), root);
    expect(foreign.us.scoring).toBe(0);
    expect(foreign.us.other).toBe(50);
  });
});
