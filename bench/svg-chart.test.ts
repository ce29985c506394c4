import { linearScale, linearTicks, logScale, logTicks, polylinePath, renderChart } from './svg-chart.js';

describe('scales', () => {
  it('maps the domain onto the range, y growing downwards', () => {
    const y = linearScale([0, 1000], [300, 100]);
    expect(y(0)).toBe(300);
    expect(y(500)).toBe(200);
    expect(y(1000)).toBe(100);
    const log = logScale([10, 1000], [300, 100]);
    expect(log(10)).toBe(300);
    expect(log(100)).toBe(200);
    expect(log(1000)).toBe(100);
    // Below the domain clamps to its floor rather than going to -Infinity.
    expect(log(0)).toBe(300);
  });

  it('ticks at 1, 2 or 5 × 10ⁿ up to at least the maximum', () => {
    expect(linearTicks(5000)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(linearTicks(4300)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(linearTicks(90)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(logTicks(12, 6300)).toEqual([10, 100, 1000, 10000]);
  });
});

describe('polylinePath', () => {
  const x = linearScale([0, 10], [0, 100]);
  const y = linearScale([0, 10], [100, 0]);

  it('moves to the first point and draws lines through the rest, in order', () => {
    expect(
      polylinePath(
        [
          [0, 0],
          [5, 5],
          [10, 2],
        ],
        x,
        y,
      ),
    ).toBe('M0.0 100.0 L50.0 50.0 L100.0 80.0');
    expect(polylinePath([], x, y)).toBe('');
  });

  it('negative control: swapping the scales draws another path', () => {
    const points = [
      [0, 0],
      [10, 2],
    ] as const;
    expect(polylinePath(points, y, x)).not.toBe(polylinePath(points, x, y));
  });
});

describe('renderChart', () => {
  const points = [
    { rateTps: 1000, achievedTps: 998, decisionP50Ms: 40, decisionP99Ms: 180, alertP99Ms: 200 },
    { rateTps: 5000, achievedTps: 2100, decisionP50Ms: 2200, decisionP99Ms: 5200, alertP99Ms: 4900 },
  ];

  it('draws one series per figure through every rate, and escapes the caption', () => {
    const svg = renderChart({ points, caption: 'load <8> & more', endToEndTps: 1800 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('load &lt;8&gt; &amp; more');
    // achieved, the ideal diagonal, decision p50, decision p99, alert p99
    expect(svg.match(/<path /g)).toHaveLength(5);
    // two points per series of the data, two for the diagonal
    expect(svg.match(/<circle /g)).toHaveLength(2 * 4 + 2);
  });

  it('negative control: a missing rate is a missing point', () => {
    const svg = renderChart({ points: points.slice(0, 1), caption: '' });
    expect(svg.match(/<circle /g)).toHaveLength(4 + 2);
  });
});
