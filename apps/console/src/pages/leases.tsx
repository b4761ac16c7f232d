// Leases: every lease with its TTL counting down, the keys attached, and revoke.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { bytesToString, type LeaseId } from '@cairn/client';
import type { Session } from '../session.js';
import { formatDuration, hexId } from '../format.js';
import { ErrorBox, Section, Table, useNow, usePoll } from '../ui.js';

/** Most leases whose details (TTL, keys) one refresh reads. */
const MAX_LEASES_SHOWN = 200;

interface Row {
  readonly id: LeaseId;
  readonly grantedTtlSeconds: number;
  /** When the TTL runs out, from the member's answer, in ms since the epoch. */
  readonly expiresAtMs: number;
  readonly keys: string[];
}

export function LeasesPage({ session }: { readonly session: Session }): JSX.Element {
  const { client } = session;
  const now = useNow(500);
  const [error, setError] = useState<unknown>(undefined);
  const poll = usePoll(async () => {
    const list = await client.lease.leases();
    const rows = await Promise.all(
      list.leases.slice(0, MAX_LEASES_SHOWN).map(async ({ id }): Promise<Row | undefined> => {
        const t = await client.lease.timeToLive(id, { keys: true });
        if (t.ttlSeconds < 0) return undefined;
        return { id, grantedTtlSeconds: t.grantedTtlSeconds, expiresAtMs: Date.now() + t.ttlSeconds * 1000, keys: t.keys.map(bytesToString) };
      }),
    );
    return { rows: rows.filter((r): r is Row => r !== undefined), total: list.leases.length };
  }, 5000);
  const revoke = (id: LeaseId): void => {
    if (!confirm(`Revoke lease ${hexId(id)}? Its keys are deleted.`)) return;
    client.lease.revoke(id).then(poll.reload, setError);
  };
  return (
    <Section title="Leases" actions={<button onClick={poll.reload}>Refresh</button>}>
      <ErrorBox error={poll.error ?? error} />
      {poll.data !== undefined && poll.data.total > MAX_LEASES_SHOWN && <p class="hint">Showing {MAX_LEASES_SHOWN} of {poll.data.total} leases.</p>}
      {poll.data !== undefined && (
        <Table<Row>
          testId="leases"
          rows={poll.data.rows}
          rowKey={(r) => hexId(r.id)}
          empty="No leases. A lease is granted with `cairnctl lease grant <ttl>`; keys put with it vanish when it expires."
          columns={[
            { label: 'Lease', sort: (r) => hexId(r.id) },
            { label: 'Remaining', numeric: true, sort: (r) => r.expiresAtMs, render: (r) => formatDuration(Math.max(0, (r.expiresAtMs - now) / 1000)) },
            { label: 'Granted TTL', numeric: true, sort: (r) => r.grantedTtlSeconds, render: (r) => formatDuration(r.grantedTtlSeconds) },
            {
              label: 'Keys',
              sort: (r) => r.keys.length,
              render: (r) =>
                r.keys.length === 0 ? <span class="hint">none</span> : r.keys.map((k) => <a key={k} class="tag" href={`#/keys?key=${encodeURIComponent(k)}`}>{k}</a>),
            },
            { label: '', sort: () => 0, render: (r) => <button class="danger small" onClick={() => revoke(r.id)}>Revoke</button> },
          ]}
        />
      )}
    </Section>
  );
}
