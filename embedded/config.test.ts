import { ConfigError } from '../platform/errors.js';
import { readEmbeddedConfig } from './config.js';

describe('the embedded simulator channel settings', () => {
  it('feed every channel a tenth of what they can carry by default', () => {
    const config = readEmbeddedConfig({});
    expect(config.simulatorChannelShare).toBe(0.1);
    expect(config.simulatorChannels).toEqual(['iso20022', 'nacha', 'csv', 'stripe', 'adyen']);
  });

  it('read a list of channels, in the dealing order, or none', () => {
    expect(readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNELS: 'stripe, csv' }).simulatorChannels).toEqual([
      'csv',
      'stripe',
    ]);
    expect(readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNELS: 'none' }).simulatorChannels).toEqual([]);
    expect(readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNEL_SHARE: '1' }).simulatorChannelShare).toBe(1);
  });

  it('refuse an unknown channel and a share outside 0..1, naming the key', () => {
    expect(() => readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNELS: 'csv,swift' })).toThrow(ConfigError);
    expect(() => readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNELS: 'csv,swift' })).toThrow(/VIGIL_SIMULATOR_CHANNELS/);
    expect(() => readEmbeddedConfig({ VIGIL_SIMULATOR_CHANNEL_SHARE: '1.5' })).toThrow(/VIGIL_SIMULATOR_CHANNEL_SHARE/);
  });
});
