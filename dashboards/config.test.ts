import { ConfigError } from '../platform/errors.js';
import { readDashboardsConfig } from './config.js';

describe('dashboards config', () => {
  it('has working defaults and is frozen', () => {
    const config = readDashboardsConfig({});
    expect(config).toMatchObject({
      liveGroupId: 'dashboards-live',
      statsIntervalMs: 1000,
      wsQueueCapacity: 256,
      wsMaxCatchUpAlerts: 10_000,
      largeCashThreshold: '10000',
      largeCashCurrency: 'USD',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['VIGIL_DASHBOARDS_WS_QUEUE_CAPACITY', '0'],
    ['VIGIL_DASHBOARDS_WS_MAX_CATCH_UP', '-1'],
    ['VIGIL_DASHBOARDS_STATS_INTERVAL_MS', 'fast'],
    ['VIGIL_DASHBOARDS_LARGE_CASH_THRESHOLD', '10,000'],
    ['VIGIL_DASHBOARDS_LARGE_CASH_CURRENCY', 'usd'],
  ])('fails fast naming %s=%p', (key, value) => {
    expect(() => readDashboardsConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => readDashboardsConfig({ [key]: value })).toThrow(key);
  });
});
