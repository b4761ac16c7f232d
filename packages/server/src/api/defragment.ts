import type { Logger } from 'pino';
import type { DefragProgress } from '../storage/defrag.js';
import type { RocksBackend } from '../storage/rocks.js';

/** Bytes in SI megabytes, for logs. */
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * The member's online defrag (storage/defrag.ts), logged: a start line, progress every few
 * seconds on a long copy, and the sizes before and after. Concurrent calls share one run.
 */
export function defragger(backend: RocksBackend, log: Logger): () => Promise<void> {
  return async () => {
    log.info({ sizeBytes: backend.sizeBytes() }, 'defragmenting the storage');
    let lastLogMs = performance.now();
    const progress = (p: DefragProgress): void => {
      const now = performance.now();
      if (now - lastLogMs < 5000) return;
      lastLogMs = now;
      log.info({ phase: p.phase, keys: p.keys, copiedBytes: p.bytes }, `defrag: ${p.keys} keys, ${mb(p.bytes)} copied`);
    };
    const r = await backend.defrag(progress);
    log.info(
      { sizeBeforeBytes: r.sizeBeforeBytes, sizeAfterBytes: r.sizeAfterBytes, keys: r.keys, ms: r.ms, dir: backend.liveDir },
      `defragmented: ${mb(r.sizeBeforeBytes)} -> ${mb(r.sizeAfterBytes)} in ${r.ms} ms`,
    );
  };
}
