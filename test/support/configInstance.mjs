// A process running one @cairn/config client as a rollout instance, until it is killed. Prints
// one line per state: `state {"current":...,"running":"base|candidate","stale":bool,"revision":"n"}`.
// Arguments: endpoints prefix id labels-json [fallback-file]
import process from 'node:process';
import { z } from 'zod';
import { CairnClient } from '@cairn/client';
import { watchConfig } from '@cairn/config';

const [endpoints, prefix, id, labels, fallbackFile] = process.argv.slice(2);
const client = new CairnClient({ endpoints: endpoints.split(','), dialTimeoutMs: 1000, requestTimeoutMs: 2000 });
const schema = z.object({ greeting: z.string().min(1), rps: z.number().int().positive().default(10) });
const cfg = await watchConfig(client, {
  prefix,
  schema,
  instance: { id, labels: JSON.parse(labels), ttlSeconds: 5 },
  ...(fallbackFile ? { fallbackFile, bootTimeoutMs: 1500 } : {}),
});
const print = () =>
  process.stdout.write(
    `state ${JSON.stringify({ current: cfg.current, running: cfg.candidate === undefined ? 'base' : 'candidate', stale: cfg.stale, revision: cfg.revision.toString() })}\n`,
  );
print();
cfg.on('change', print);
cfg.on('live', print);
cfg.on('invalid', (e) => process.stderr.write(`invalid ${e.message}\n`));
// A candidate taken or dropped without a change of value (a promote) still changes what it runs.
cfg.on('rollout', print);
