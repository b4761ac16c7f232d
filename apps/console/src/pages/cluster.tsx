// Cluster: every member with its role, term, raft and applied index, DB size and health,
// refreshed every second. Each member is asked directly (its own client to its own client
// URL: members allow pages served by one another), so one that is down shows as down within
// one refresh plus the request timeout.
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { CairnClient, AlarmMember, Member, StatusResponse } from '@cairn/client';
import type { Session } from '../session.js';
import { formatBytes, hexId, relativeTime } from '../format.js';
import { ErrorBox, Section, Table, useNow, usePoll } from '../ui.js';

const REFRESH_MS = 1000;
/** A member that has not answered its status within this is shown down. */
const STATUS_TIMEOUT_MS = 1500;

interface Row {
  readonly member: Member;
  readonly status: StatusResponse | undefined;
  readonly error: string | undefined;
  readonly lastSeenMs: number | undefined;
}

export function ClusterPage({ session }: { readonly session: Session }): JSX.Element {
  const clients = useRef(new Map<string, CairnClient>());
  const lastSeen = useRef(new Map<string, number>());
  useEffect(
    () => () => {
      for (const c of clients.current.values()) c.close();
    },
    [],
  );
  const clientFor = (url: string): CairnClient => {
    let c = clients.current.get(url);
    if (c === undefined) {
      c = session.clientOf(url, STATUS_TIMEOUT_MS);
      clients.current.set(url, c);
    }
    return c;
  };
  const now = useNow();
  const poll = usePoll(async () => {
    const [list, alarms] = await Promise.all([session.client.cluster.memberList(), session.client.maintenance.alarmList().catch(() => ({ alarms: [] as AlarmMember[] }))]);
    const rows = await Promise.all(
      list.members.map(async (member): Promise<Row> => {
        const url = member.clientUrls[0];
        if (url === undefined) return { member, status: undefined, error: 'not started yet (no client URL)', lastSeenMs: undefined };
        try {
          const status = await clientFor(url).maintenance.status({ timeoutMs: STATUS_TIMEOUT_MS });
          lastSeen.current.set(url, Date.now());
          return { member, status, error: undefined, lastSeenMs: Date.now() };
        } catch (err) {
          return { member, status: undefined, error: (err as Error).message, lastSeenMs: lastSeen.current.get(url) };
        }
      }),
    );
    return { rows, alarms: alarms.alarms, header: list.header };
  }, REFRESH_MS);
  const data = poll.data;
  const leader = data?.rows.find((r) => r.status !== undefined && r.status.leader !== 0n)?.status?.leader;
  const up = data?.rows.filter((r) => r.status !== undefined).length ?? 0;
  return (
    <>
      <Section title="Cluster" actions={<span class="hint">{data !== undefined ? `updated ${relativeTime(poll.at, now)}` : ''}</span>}>
        <ErrorBox error={poll.error} title="Cannot read the member list" />
        {data !== undefined && (
          <p class="summary" data-testid="cluster-summary">
            {up} of {data.rows.length} members up · leader {leader !== undefined ? (data.rows.find((r) => r.member.id === leader)?.member.name ?? hexId(leader)) : 'none'} · cluster {hexId(data.header.clusterId)} · revision {String(data.header.revision)}
          </p>
        )}
        {data !== undefined && (
          <Table<Row>
            testId="members"
            rows={data.rows}
            rowKey={(r) => hexId(r.member.id)}
            rowClass={(r) => (r.status === undefined ? 'down' : '')}
            empty="No members."
            columns={[
              { label: 'Name', sort: (r) => r.member.name, render: (r) => <span data-member={r.member.name}>{r.member.name || '(unstarted)'}</span> },
              { label: 'ID', sort: (r) => hexId(r.member.id) },
              {
                label: 'Health',
                sort: (r) => (r.status === undefined ? 0 : 1),
                render: (r) =>
                  r.status === undefined ? (
                    <span class="bad" data-health="down" title={r.error}>
                      down{r.lastSeenMs !== undefined ? ` (last seen ${relativeTime(r.lastSeenMs, now)})` : ''}
                    </span>
                  ) : (
                    <span class={r.status.errors.length > 0 ? 'warn' : 'good'} data-health="up">
                      {r.status.errors.length > 0 ? r.status.errors.join('; ') : 'up'}
                    </span>
                  ),
              },
              { label: 'Role', sort: (r) => (r.member.isLearner ? 'learner' : r.member.id === leader ? 'leader' : 'follower') },
              { label: 'Client URL', sort: (r) => r.member.clientUrls.join(', ') },
              { label: 'Term', numeric: true, sort: (r) => r.status?.raftTerm ?? -1n, render: (r) => (r.status !== undefined ? String(r.status.raftTerm) : '–') },
              { label: 'Raft index', numeric: true, sort: (r) => r.status?.raftIndex ?? -1n, render: (r) => (r.status !== undefined ? String(r.status.raftIndex) : '–') },
              { label: 'Applied index', numeric: true, sort: (r) => r.status?.raftAppliedIndex ?? -1n, render: (r) => (r.status !== undefined ? String(r.status.raftAppliedIndex) : '–') },
              {
                label: 'DB size (in use)',
                numeric: true,
                sort: (r) => r.status?.dbSize ?? -1n,
                render: (r) => (r.status !== undefined ? `${formatBytes(r.status.dbSize)} (${formatBytes(r.status.dbSizeInUse)})` : '–'),
              },
              { label: 'Version', sort: (r) => r.status?.version ?? '', render: (r) => r.status?.version ?? '–' },
            ]}
          />
        )}
      </Section>
      <Section title="Alarms">
        {data === undefined ? null : data.alarms.length === 0 ? (
          <p class="empty good">No alarms.</p>
        ) : (
          <ul class="alarms">
            {data.alarms.map((a) => (
              <li key={`${a.memberId}-${a.alarm}`} class="bad">
                {String(a.alarm).toUpperCase()} on member {data.rows.find((r) => r.member.id === a.memberId)?.member.name ?? hexId(a.memberId)}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
