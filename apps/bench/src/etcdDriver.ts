/** The etcd side: the etcd3 client with its retry and circuit breaker turned off. */
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import type { Driver } from './workload.js';

export function etcdDriver(endpoint: string | readonly string[]): Driver {
  const client = new Etcd3({
    hosts: (typeof endpoint === 'string' ? [endpoint] : endpoint).map((e) => `http://${e}`),
    // No retries, no circuit breaker: they would hide errors and distort latency.
    faultHandling: { host: () => noop, global: noop },
  });
  return {
    name: 'etcd',
    put: async (key, value) => {
      await client.put(key).value(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    get: async (key) => {
      await client.get(key).buffer();
    },
    close: async () => client.close(),
  };
}
