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
      accessLogRetentionDays: 400,
    });
    expect(config.cashThresholds).toEqual(
      new Map([
        ['EUR', 1_000_000n],
        ['GBP', 1_000_000n],
        ['USD', 1_000_000n],
      ]),
    );
    expect(
      readDashboardsConfig({ VIGIL_DASHBOARDS_CASH_THRESHOLDS: 'JPY:1000000, KWD:3000.5' }).cashThresholds,
    ).toEqual(
      new Map([
        ['JPY', 1_000_000n],
        ['KWD', 3_000_500n],
      ]),
    );
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the cases settings: grouping, window and SLA in minutes, four-eyes limits per currency (0 allowed)', () => {
    expect(readDashboardsConfig({}).cases).toEqual({
      groupId: 'dashboards-cases',
      groupBy: 'customer',
      joinWindowMs: 1440 * 60_000,
      slaMs: 240 * 60_000,
      fourEyesAbove: new Map([
        ['EUR', 100_000n],
        ['GBP', 100_000n],
        ['USD', 100_000n],
      ]),
      stepTimeoutMs: 15_000,
    });
    const set = readDashboardsConfig({
      VIGIL_CASES_GROUP_BY: 'card',
      VIGIL_CASES_JOIN_WINDOW_MINUTES: '30',
      VIGIL_CASES_SLA_MINUTES: '60',
      VIGIL_CASES_FOUR_EYES_ABOVE: 'JPY:0,EUR:250.50',
    }).cases;
    expect([set.groupBy, set.joinWindowMs, set.slaMs, [...set.fourEyesAbove]]).toEqual([
      'card',
      30 * 60_000,
      60 * 60_000,
      [
        ['JPY', 0n],
        ['EUR', 25_050n],
      ],
    ]);
  });

  it.each([
    ['VIGIL_DASHBOARDS_WS_QUEUE_CAPACITY', '0'],
    ['VIGIL_DASHBOARDS_WS_MAX_CATCH_UP', '-1'],
    ['VIGIL_DASHBOARDS_STATS_INTERVAL_MS', 'fast'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'USD:10,000'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'usd:10000'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'XXY:10000'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'JPY:100.5'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'EUR:0'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'EUR:10000,EUR:15000'],
    ['VIGIL_DASHBOARDS_CASH_THRESHOLDS', 'EUR'],
    ['VIGIL_CASES_GROUP_BY', 'merchant'],
    ['VIGIL_CASES_SLA_MINUTES', '0'],
    ['VIGIL_CASES_FOUR_EYES_ABOVE', 'EUR:-1'],
    ['VIGIL_CASES_FOUR_EYES_ABOVE', 'EUR:1,EUR:2'],
    ['VIGIL_ACCESS_LOG_RETENTION_DAYS', '365'], // under PCI DSS 10.5.1's twelve months
    ['VIGIL_ACCESS_LOG_RETENTION_DAYS', '-1'],
  ])('fails fast naming %s=%p', (key, value) => {
    expect(() => readDashboardsConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => readDashboardsConfig({ [key]: value })).toThrow(key);
  });

  it('keeps the access log forever (0) or for at least 366 days', () => {
    expect(readDashboardsConfig({ VIGIL_ACCESS_LOG_RETENTION_DAYS: '0' }).accessLogRetentionDays).toBe(0);
    expect(readDashboardsConfig({ VIGIL_ACCESS_LOG_RETENTION_DAYS: '366' }).accessLogRetentionDays).toBe(366);
  });
});
