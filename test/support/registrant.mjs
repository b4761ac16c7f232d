// A process that registers one instance and keeps it registered until it is killed; prints
// `registered <lease hex>` once visible. Arguments: endpoints service id port ttlSeconds.
import process from 'node:process';
import { CairnClient } from '@cairn/client';
import { register } from '@cairn/registry';

const [endpoints, service, id, port, ttl] = process.argv.slice(2);
const client = new CairnClient({ endpoints: endpoints.split(',') });
const reg = await register(client, { service, id, address: '127.0.0.1', port: Number(port), ttlSeconds: Number(ttl), deregisterOnSignal: true });
process.stdout.write(`registered ${reg.lease.toString(16)}\n`);
