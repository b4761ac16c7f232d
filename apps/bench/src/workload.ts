/** Closed-loop workloads: `concurrency` callers each issue one request at a time. */
import { cpuSeconds } from './procs.js';
import { percentile } from './stats.js';

export interface Driver {
  readonly name: string;
  put(key: string, value: Uint8Array): Promise<void>;
  get(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface WorkloadResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU (user+system) per operation, in microseconds. */
  readonly serverCpuUsPerOp: number;
  readonly errors: number;
}

export interface WorkloadSpec {
  readonly op: 'put' | 'get';
  readonly concurrency: number;
  readonly durationMs: number;
  /** Hard cap on operations, so a run is bounded in count as well as time. */
  readonly maxOps: number;
  readonly keySpace: number;
  readonly valueBytes: number;
}

const keyName = (i: number) => `bench/key-${String(i).padStart(8, '0')}`;

export async function prefill(driver: Driver, spec: WorkloadSpec): Promise<void> {
  const value = new Uint8Array(spec.valueBytes).fill(97);
  const batch = 64;
  for (let i = 0; i < spec.keySpace; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, spec.keySpace - i) }, (_, j) => driver.put(keyName(i + j), value)));
  }
}

/** `server`: the server's pid, or a function giving the CPU seconds of all its processes. */
export async function runWorkload(driver: Driver, server: number | (() => number), spec: WorkloadSpec): Promise<WorkloadResult> {
  const serverCpu = typeof server === 'number' ? () => cpuSeconds(server) : server;
  const value = new Uint8Array(spec.valueBytes).fill(98);
  const latencies = new Float64Array(spec.maxOps);
  let issued = 0;
  let done = 0;
  let errors = 0;
  const cpu0 = serverCpu();
  const t0 = performance.now();
  const deadline = t0 + spec.durationMs;
  // Deterministic key sequence: a multiplicative hash over the issue counter.
  const pick = (n: number) => (n * 2654435761) % spec.keySpace;
  const worker = async () => {
    while (issued < spec.maxOps && performance.now() < deadline) {
      const n = issued++;
      const key = keyName(pick(n));
      const start = performance.now();
      try {
        if (spec.op === 'put') await driver.put(key, value);
        else await driver.get(key);
        latencies[done++] = performance.now() - start;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = serverCpu() - cpu0;
  const sorted = latencies.subarray(0, done).sort();
  return {
    ops: done,
    seconds,
    opsPerSec: done / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    serverCpuUsPerOp: done > 0 ? (cpu * 1e6) / done : Number.NaN,
    errors,
  };
}
