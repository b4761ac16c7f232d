import type { z } from 'zod';
import { ErrorCode, toCairnError, type CairnClient, type CairnError } from '@cairn/client';
import { Config, type ConfigOptions } from './config.js';
import { readFallback } from './fallback.js';

/** Failures of the first read that mean "no member answered", as opposed to a refusal. */
function unreachable(err: CairnError): boolean {
  return err.retryable || err.code === ErrorCode.Unavailable || err.code === ErrorCode.Canceled;
}

/**
 * Loads the configuration under `prefix`, checks it against `schema`, and keeps it current.
 *
 *   const cfg = await watchConfig(client, { prefix: 'config/prod/', schema: z.object({ greeting: z.string() }) });
 *   cfg.current.greeting;                       // typed, synchronous
 *   cfg.on('change', ({ current }) => ...);
 *
 * With `fallbackFile`, if no member answers within `bootTimeoutMs` (or the first read fails
 * because none can be reached), it starts from the file (`stale` is true) and switches to the
 * cluster's value as soon as a member answers (`live`, and `change` if it differs). Without a
 * file to start from it waits for the cluster, as without the option.
 */
export async function watchConfig<S extends z.ZodType>(client: CairnClient, options: ConfigOptions<S>): Promise<Config<S>> {
  const cfg = new Config(client, options);
  const file = options.fallbackFile;
  if (file === undefined) {
    await cfg.load();
    return cfg;
  }
  const first = cfg.load();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    first.then(
      () => ({ live: true as const }),
      (err: unknown) => ({ live: false as const, err: toCairnError(err) }),
    ),
    new Promise<{ live: false; err: undefined }>((resolve) => (timer = setTimeout(() => resolve({ live: false, err: undefined }), options.bootTimeoutMs ?? 3000))),
  ]);
  clearTimeout(timer);
  if (outcome.live) return cfg;
  if (outcome.err !== undefined && !unreachable(outcome.err)) throw outcome.err;
  const saved = await readFallback(file);
  if (saved === undefined || saved.prefix !== cfg.prefix) {
    // Nothing to start from: as without a file.
    if (outcome.err !== undefined) throw outcome.err;
    await first;
    return cfg;
  }
  cfg.startStale(saved, first);
  return cfg;
}
