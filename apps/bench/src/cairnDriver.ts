/** The Cairn side of the benchmarks: one @cairn/client socket, requests multiplexed on it. */
import { connect } from '@cairn/client';
import type { Driver } from './workload.js';

export async function cairnDriver(endpoint: string): Promise<Driver> {
  const client = await connect({ endpoints: [endpoint] });
  return {
    name: 'cairn',
    put: async (key, value) => {
      await client.kv.put(key, value);
    },
    get: async (key) => {
      await client.kv.get(key);
    },
    close: async () => client.close(),
  };
}
