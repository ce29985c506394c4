import { MetricsRegistry } from './metrics.js';

describe('Prometheus registry', () => {
  it('renders counters with escaped labels, gauges and cumulative histograms', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('vigil_test_total', 'a test counter');
    counter.inc({ decision: 'REVIEW' });
    counter.inc({ decision: 'REVIEW' }, 2);
    counter.inc({ path: 'a"b' });
    registry.gauge('vigil_test_gauge', 'a gauge', () => 7);
    const histogram = registry.histogram('vigil_test_seconds', 'a histogram', [0.1, 1]);
    histogram.observe(0.05);
    histogram.observe(0.5);
    histogram.observe(5);
    const text = registry.render();
    expect(text).toContain('vigil_test_total{decision="REVIEW"} 3');
    expect(text).toContain('vigil_test_total{path="a\\"b"} 1');
    expect(text).toContain('vigil_test_gauge 7');
    expect(text).toContain('vigil_test_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('vigil_test_seconds_bucket{le="1"} 2');
    expect(text).toContain('vigil_test_seconds_bucket{le="+Inf"} 3');
    expect(text).toContain('vigil_test_seconds_count 3');
  });

  it('returns the same metric for the same name', () => {
    const registry = new MetricsRegistry();
    expect(registry.counter('c', 'h')).toBe(registry.counter('c', 'h'));
  });
});
