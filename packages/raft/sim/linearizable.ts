// Linearizability of a simulated client history, checked with @cairn/linearizability.
import { checkHistory, kvModel } from '@cairn/linearizability';
import type { HistoryOp } from './sim.js';

/**
 * Deterministic search budget: past it the verdict is 'unknown' (not a failure). Seeds 1..1000
 * all finish within it (the hardest needs ~45M steps, 2 s).
 */
const MAX_STEPS = 50_000_000;

export function checkSeedHistory(history: readonly HistoryOp[]): { verdict: 'linearizable' | 'not-linearizable' | 'unknown'; detail: string } {
  const r = checkHistory(kvModel, history, { maxSteps: MAX_STEPS });
  const detail = r.failure !== undefined ? `blocked by ${r.failure.blockedBy ?? '?'} after ${r.failure.longestPrefix.slice(-5).join('; ')}` : '';
  return { verdict: r.verdict, detail };
}
