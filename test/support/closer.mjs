// A service that opens one of everything (registration, discovery view, typed config, session
// with a won election, a bare watch, a keep-alive) and then closes only its client, as a
// shutdown that forgets the rest would. It must still exit on its own. Prints one line per
// step and `lost ...` for any lost event. Arguments: endpoint, ttlSeconds.
import process from 'node:process';
import { z } from 'zod';
import { CairnClient, ErrorCode } from '@cairn/client';
import { Election, Session } from '@cairn/concurrency';
import { watchConfig } from '@cairn/config';
import { discover, register } from '@cairn/registry';

const [endpoint, ttl] = process.argv.slice(2);
const ttlSeconds = Number(ttl);
const say = (line) => process.stdout.write(`${line}\n`);
const client = new CairnClient({ endpoints: [endpoint] });

const registration = await register(client, { service: 'closer', id: 'c-1', address: '127.0.0.1', port: 9000, ttlSeconds });
registration.on('lost', (err) => say(`lost registration ${err.code}`));
const view = await discover(client, 'closer');
await client.kv.put('config/closer/greeting', JSON.stringify('hello'));
const config = await watchConfig(client, { prefix: 'config/closer/', schema: z.object({ greeting: z.string() }) });
const session = await Session.create(client, { ttlSeconds });
session.on('lost', (err) => say(`lost session ${err.code}`));
await new Election(session, `closer/leader/${process.pid}`).campaign('c-1');
const grant = await client.lease.grant(ttlSeconds);
client.lease.keepAlive(grant.id).on('lost', (err) => say(`lost keepalive ${err.code}`));
const watch = client.watch('closer/', { prefix: true });
await watch.created;
const watching = (async () => {
  for await (const batch of watch) say(`events ${batch.events.length}`);
  say('watch ended');
})();
say(`open ${view.instances().length} ${config.current.greeting}`);

client.close();
await watching;
try {
  await client.kv.get('config/closer/greeting');
} catch (err) {
  say(`after close ${err.code === ErrorCode.ConnectionClosed ? 'connection_closed' : err.code}`);
}
say('closed');
