// Run as a child process by durability.test.ts: writes keys as fast as it can with many
// proposals in flight and prints each key once its put is acknowledged. The parent kills it
// with SIGKILL mid-stream.
/** Marker type so the test file can reference this script without importing it. */
export type CrashChild = 'crash-child';

import { RocksBackend } from '../storage/rocks.js';
import { openMember, b } from './harness.js';

const dir = process.argv[2]!;
const member = await openMember(dir, await RocksBackend.open(dir));
let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const key = `key-${next++}`;
    await member.propose({ put: { key: b(key), value: b('x'.repeat(100)) } });
    process.stdout.write(`${key}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, writer));
