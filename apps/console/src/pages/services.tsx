// Services: the registry's layout (services/<service>/<id>, JSON instances with leases; see
// docs/registry.md), grouped by service, refreshed every two seconds.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { bytesToString, type KeyValue } from '@cairn/client';
import type { Session } from '../session.js';
import { formatDuration, hexId, relativeTime } from '../format.js';
import { Empty, ErrorBox, Section, Table, useNow, usePoll } from '../ui.js';

interface Instance {
  readonly key: string;
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly metadata: string;
  readonly weight: number;
  readonly registeredAtMs: number | undefined;
  readonly lease: bigint;
  readonly ttlSeconds: number | undefined;
}

function parse(prefix: string, kv: KeyValue, ttl: Map<bigint, number>): Instance {
  const key = bytesToString(kv.key);
  const [service = '', ...rest] = key.slice(prefix.length).split('/');
  let v: Record<string, unknown> = {};
  try {
    v = JSON.parse(bytesToString(kv.value)) as Record<string, unknown>;
  } catch {
    // Not the registry's JSON: shown with what the key says.
  }
  const at = typeof v['registeredAt'] === 'string' ? Date.parse(v['registeredAt']) : NaN;
  return {
    key,
    service,
    id: typeof v['id'] === 'string' ? v['id'] : rest.join('/'),
    address: `${String(v['address'] ?? '?')}${v['port'] !== undefined ? `:${String(v['port'])}` : ''}`,
    metadata: v['metadata'] !== undefined ? JSON.stringify(v['metadata']) : '',
    weight: typeof v['weight'] === 'number' ? v['weight'] : 1,
    registeredAtMs: Number.isNaN(at) ? undefined : at,
    lease: kv.lease,
    ttlSeconds: ttl.get(kv.lease),
  };
}

export function ServicesPage({ session }: { readonly session: Session }): JSX.Element {
  const [prefix, setPrefix] = useState('services/');
  const now = useNow();
  const poll = usePoll(
    async () => {
      const kvs = await session.client.kv.getPrefix(prefix);
      const ttl = new Map<bigint, number>();
      await Promise.all(
        [...new Set(kvs.map((kv) => kv.lease).filter((l) => l !== 0n))].map(async (id) => ttl.set(id, (await session.client.lease.timeToLive(id)).ttlSeconds)),
      );
      return kvs.map((kv) => parse(prefix, kv, ttl));
    },
    2000,
    [prefix],
  );
  const byService = new Map<string, Instance[]>();
  for (const i of poll.data ?? []) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  return (
    <Section title="Services" actions={<input value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} title="the registry's prefix" />}>
      <ErrorBox error={poll.error} />
      {poll.data !== undefined && byService.size === 0 && <Empty>No service registered under {prefix}. Instances appear here as @cairn/registry registers them.</Empty>}
      {[...byService].sort(([a], [b]) => (a < b ? -1 : 1)).map(([service, instances]) => (
        <div key={service} class="service" data-service={service}>
          <h3>
            {service} <span class="count">{instances.length} instances</span>
          </h3>
          <Table<Instance>
            rows={instances}
            rowKey={(i) => i.key}
            empty="No instances."
            columns={[
              { label: 'Instance', sort: (i) => i.id },
              { label: 'Address', sort: (i) => i.address },
              { label: 'Weight', numeric: true, sort: (i) => i.weight },
              { label: 'Metadata', sort: (i) => i.metadata, render: (i) => <code>{i.metadata}</code> },
              { label: 'Lease TTL', numeric: true, sort: (i) => i.ttlSeconds ?? -1, render: (i) => (i.lease === 0n ? 'no lease' : `${formatDuration(i.ttlSeconds ?? 0)} (${hexId(i.lease)})`) },
              { label: 'Registered', sort: (i) => i.registeredAtMs ?? 0, render: (i) => (i.registeredAtMs !== undefined ? relativeTime(i.registeredAtMs, now) : '–') },
            ]}
          />
        </div>
      ))}
    </Section>
  );
}
