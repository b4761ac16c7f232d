/**
 * The `cairn` daemon: reads its settings, starts one member, and shuts it down gracefully on
 * SIGINT/SIGTERM (stop accepting, finish in-flight applies, close RocksDB). Exit codes: 0 after
 * a clean shutdown, 1 for a configuration or start-up error (one clear line on stderr).
 */
import { SERVER_VERSION, startServer } from '@cairn/server';
import { helpText, loadConfig } from './config.js';
import { createLogger } from './logging.js';
import { dataDirInitialized, resolveDiscovery } from './discovery.js';
import { allocatorNote, glibcVersion } from './allocator.js';

/** How long a member waits for the others to register under its discovery token. */
const DISCOVERY_TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<void> {
  const parsed = loadConfig(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`cairn Version: ${SERVER_VERSION}\nNode.js Version: ${process.version}\n`);
    return;
  }
  let config = parsed.config;
  const { logger, notes } = createLogger(config);
  for (const warning of [...parsed.warnings, ...notes]) logger.warn(warning);
  const allocator = allocatorNote(process.env, glibcVersion());
  if (allocator !== undefined) logger.info(allocator);
  if (config.discovery !== undefined) {
    if (dataDirInitialized(config.dataDir)) {
      logger.info({ dataDir: config.dataDir }, 'discovery: skipped, the data dir already holds this member');
    } else {
      const initialCluster = await resolveDiscovery({
        url: config.discovery,
        name: config.name,
        peerUrls: config.initialAdvertisePeerUrls,
        timeoutMs: DISCOVERY_TIMEOUT_MS,
        logger: { info: (message, fields) => logger.info(fields ?? {}, message) },
      });
      config = { ...config, initialCluster };
    }
  }
  logger.info({ source: parsed.source, dataDir: config.dataDir, clientUrls: config.listenClientUrls }, 'starting cairn');
  const server = await startServer({
    name: config.name,
    dataDir: config.dataDir,
    listenClientUrls: config.listenClientUrls,
    listenMetricsUrls: config.listenMetricsUrls,
    advertiseClientUrls: config.advertiseClientUrls,
    listenPeerUrls: config.listenPeerUrls,
    initialAdvertisePeerUrls: config.initialAdvertisePeerUrls,
    initialCluster: Object.fromEntries(config.initialCluster),
    initialClusterToken: config.initialClusterToken,
    initialClusterState: config.initialClusterState,
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    maxTxnCompareKeys: config.maxTxnCompareKeys,
    clientHandshakeTimeoutMs: config.clientHandshakeTimeoutMs,
    maxClientConnections: config.maxClientConnections,
    clientUnsentSoftBytes: config.clientUnsentSoftBytes,
    clientUnsentHardBytes: config.clientUnsentHardBytes,
    quotaBackendBytes: config.quotaBackendBytes,
    autoCompactionMode: config.autoCompactionMode,
    autoCompactionRetention: config.autoCompactionRetention,
    autoCompactionCheckIntervalMs: config.autoCompactionCheckIntervalMs,
    rocksdbBlockCacheBytes: config.rocksdbBlockCacheBytes,
    rocksdbMemtableBudgetBytes: config.rocksdbMemtableBudgetBytes,
    authTokenTtlSeconds: config.authTokenTtlSeconds,
    authLoginFreeFailures: config.authLoginFreeFailures,
    authLoginMaxDelayMs: config.authLoginMaxDelayMs,
    cors: config.cors,
    console: !config.disableConsole,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    electionTimeoutMs: config.electionTimeoutMs,
    snapshotCount: config.snapshotCount,
    experimentalInitialCorruptCheck: config.experimentalInitialCorruptCheck,
    experimentalCorruptCheckTimeMs: config.experimentalCorruptCheckTimeMs,
    tls: config.tls,
    peerTls: config.peerTls,
    peerSecretFile: config.peerSecretFile,
    logger,
  });
  logger.info({ clientUrls: server.clientUrls }, 'ready to serve client requests');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cairn: ${message}\n`);
  process.exit(1);
});
