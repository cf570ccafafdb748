/**
 * The API process: configuration from the environment, a lazy Temporal connection (the API starts even while
 * Temporal is down; /readyz says so), the Fastify app on GMSA_API_HOST:GMSA_API_PORT.
 */
import { Client, Connection } from '@temporalio/client';
import { dataConverter, readKeyRing } from '../temporal/codec.js';
import { connectionOptions, readTemporalSettings } from '../temporal/settings.js';
import { readApprovalKey } from '../config/approval-key.js';
import { ConfigError, optional } from '../config/env.js';
import { readTrustProxy } from '../config/trust-proxy.js';
import { createLogger } from '../config/logger.js';
import { buildApp } from './app.js';
import { TokenTable } from './auth.js';
import { TOKEN_VARIABLE } from '../config/api-tokens.js';
import { OperationsService } from './operations-service.js';
import { ProvisioningService } from './provisioning-service.js';

async function main(): Promise<void> {
  let settings, tokens, keyRing, approvalKey, trustProxy, port: number;
  try {
    settings = readTemporalSettings();
    keyRing = readKeyRing();
    approvalKey = readApprovalKey();
    trustProxy = readTrustProxy();
    tokens = TokenTable.parse(process.env[TOKEN_VARIABLE]);
    if (tokens.size === 0) throw new ConfigError(TOKEN_VARIABLE, 'is required: comma-separated role:token entries');
    port = Number(optional(process.env, 'GMSA_API_PORT') ?? '3000');
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      throw new ConfigError('GMSA_API_PORT', 'must be a TCP port');
  } catch (err) {
    console.error(`api: bad configuration: ${(err as Error).message}`);
    process.exit(2);
  }
  const host = optional(process.env, 'GMSA_API_HOST') ?? '127.0.0.1';
  const logger = createLogger(optional(process.env, 'LOG_LEVEL') ?? 'info', 'api');
  // The API starts without it (everything but approving works), and says so.
  if (!approvalKey) logger.warn('no GMSA_APPROVAL_KEY or GMSA_APPROVAL_KEY_FILE: approvals are answered 503');
  const connection = Connection.lazy(connectionOptions(settings));
  const converter = dataConverter(keyRing);
  const client = new Client({ connection, namespace: settings.namespace, dataConverter: converter });
  // The Temporal UI calls the codec endpoint from the browser: its origin must be allowed.
  const corsOrigins = (optional(process.env, 'GMSA_CODEC_CORS_ORIGINS') ?? settings.uiUrl)
    .split(',')
    .map((o) => o.trim());
  const app = await buildApp({
    service: new ProvisioningService(client, settings, { approvalKey }),
    operations: new OperationsService(client, settings),
    tokens,
    codec: converter.payloadCodecs[0],
    codecCorsOrigins: corsOrigins,
    defaultSubscriptionId: optional(process.env, 'AZURE_SUBSCRIPTION_ID'),
    logger,
    trustProxy,
    metricsToken: optional(process.env, 'GMSA_METRICS_TOKEN'),
  });
  const close = () => {
    app
      .close()
      .then(() => connection.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error('api: shutdown failed:', err instanceof Error ? err.message : err);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  await app.listen({ host, port });
}

main().catch((err: unknown) => {
  console.error('api: fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
