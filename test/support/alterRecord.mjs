// Alters a stopped member's data offline, the way a bad disk or a bad restore would: opens its
// RocksDB directly and rewrites the value of the newest history record of one key (bytes only,
// nothing through the log). Arguments: dbDir key newValue. Prints `altered <main>.<sub>`.
// The server and protocol packages are loaded from their built output by path: the e2e
// package does not depend on @cairn/server, and this is the only place that needs its storage.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';

const [dbDir, key, newValue] = process.argv.slice(2);
const { RocksBackend } = await import(new URL('../../packages/server/dist/index.js', import.meta.url).href);
const { decodeValue, encodeValue } = await import(new URL('../../packages/protocol/dist/index.js', import.meta.url).href);

const HISTORY = 0x68; // 'h': main u64be, sub u32be -> [key, create, mod, version, value, lease, tombstone]
const db = await RocksBackend.open(dbDir);
let target;
for (const [k, v] of db.scan({ gte: new Uint8Array([HISTORY]), lt: new Uint8Array([HISTORY + 1]) })) {
  const rec = decodeValue(v);
  if (Buffer.from(rec[0]).toString() === key && rec[6] !== 1) target = [k, rec];
}
if (target === undefined) {
  process.stderr.write(`no live history record for ${key}\n`);
  process.exit(1);
}
const [k, rec] = target;
rec[4] = Buffer.from(newValue);
await db.write([{ type: 'put', key: k, value: encodeValue(rec) }], { sync: true });
await db.close();
const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
process.stdout.write(`altered ${dv.getUint32(1) * 2 ** 32 + dv.getUint32(5)}.${dv.getUint32(9)}\n`);
