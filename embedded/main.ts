/**
 * `npm start`: the whole pipeline in one process, no servers. Prints the dashboard URL and the API keys, and
 * stops cleanly on SIGINT/SIGTERM; starting again resumes from the data directory where it stopped.
 */
import { createLogger } from '../platform/logger.js';
import { describeError } from '../platform/errors.js';
import { startEmbeddedPipeline } from './pipeline.js';

const logger = createLogger({ level: 'info', fields: { service: 'vigil' } });

try {
  const pipeline = await startEmbeddedPipeline({ logger });
  const { config, url, apiKeys, keysWereGenerated, identityProvider } = pipeline;
  const lines = [
    '',
    `Vigil is running (embedded mode, data in ${config.dataDir})`,
    `  dashboard:  ${url}/`,
    `  API:        ${url}/v1/transactions   health: ${url}/health/ready`,
    `  OpenAPI:    ${url}/openapi.json`,
    `  simulator:  ${config.simulatorTps > 0 ? `${config.simulatorTps} transactions/s (VIGIL_SIMULATOR_TPS=0 turns it off)` : 'off'}`,
    ...(config.simulatorTps > 0 && config.simulatorChannels.length > 0 && config.simulatorChannelShare > 0
      ? [
          `              ${Number((config.simulatorChannelShare * 100).toFixed(2))} % of what they can carry as ${config.simulatorChannels.join(', ')} (VIGIL_SIMULATOR_CHANNEL_SHARE, VIGIL_SIMULATOR_CHANNELS)`,
        ]
      : []),
    keysWereGenerated
      ? `  demo API keys (kept in ${config.dataDir}/secrets/demo-api-keys):`
      : '  API keys: from VIGIL_API_KEYS',
    ...(keysWereGenerated ? apiKeys.map((k) => `    ${k.role.padEnd(11)} ${k.key}`) : []),
    identityProvider === undefined
      ? `  people sign in at ${config.oidc?.issuer ?? ''}`
      : `  people sign in at ${identityProvider.issuer} (built-in OpenID provider; users kept in ${config.dataDir}/secrets/demo-users):`,
    ...(identityProvider?.users ?? []).map((u) => `    ${u.username.padEnd(11)} password ${u.password}`),
    '  Sign in to the dashboard as analyst (or paste the analyst key). Ctrl-C stops.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    pipeline.close().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('error while stopping', { error: describeError(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  logger.error('failed to start', { error: describeError(error) });
  process.exit(1);
}
