import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { health, serveProbe, type HealthHost } from './health.js';

function host(o: Partial<{ stopped: string; alarms: string[]; leader: bigint; linearizable: boolean }> = {}): HealthHost {
  return {
    stopped: () => o.stopped ?? '',
    alarms: () => o.alarms ?? [],
    leaderId: () => o.leader ?? 1n,
    read: async (serializable) => {
      if (!serializable && o.linearizable === false) throw new CairnError(ErrorCode.NoLeader, 'no leader');
    },
  };
}

/** Runs one probe request against `h`; its status and body. */
async function probe(h: HealthHost, target: string): Promise<{ status: number; body: string } | undefined> {
  const url = new URL(target, 'http://x');
  return new Promise((resolve) => {
    let status = 0;
    const res = {
      writeHead: (s: number) => (status = s),
      end: (body: string) => resolve({ status, body }),
    } as unknown as ServerResponse;
    if (!serveProbe(h, url.pathname, url.searchParams, res)) resolve(undefined);
  });
}

describe('/health (etcd semantics)', () => {
  it('reports the first problem: stopped, an alarm, no leader, a failed read', async () => {
    expect(await health(host(), new URLSearchParams())).toEqual({ health: 'true', reason: '' });
    expect(await health(host({ stopped: 'shutting down', alarms: ['NOSPACE'] }), new URLSearchParams())).toEqual({ health: 'false', reason: 'shutting down' });
    expect(await health(host({ alarms: ['NOSPACE'], leader: 0n }), new URLSearchParams())).toEqual({ health: 'false', reason: 'ALARM NOSPACE' });
    expect(await health(host({ leader: 0n }), new URLSearchParams())).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
    expect(await health(host({ linearizable: false }), new URLSearchParams())).toEqual({ health: 'false', reason: 'RANGE ERROR:no leader' });
  });

  it('?exclude= ignores an alarm; ?serializable=true needs no leader nor quorum', async () => {
    expect(await health(host({ alarms: ['NOSPACE'] }), new URLSearchParams('exclude=NOSPACE'))).toEqual({ health: 'true', reason: '' });
    expect(await health(host({ alarms: ['NOSPACE', 'CORRUPT'] }), new URLSearchParams('exclude=NOSPACE'))).toEqual({ health: 'false', reason: 'ALARM CORRUPT' });
    expect(await health(host({ leader: 0n, linearizable: false }), new URLSearchParams('serializable=true'))).toEqual({ health: 'true', reason: '' });
  });
});

describe('/livez and /readyz (etcd 3.5)', () => {
  it('answers ok, with a line per check under ?verbose', async () => {
    expect(await probe(host(), '/livez')).toEqual({ status: 200, body: 'ok\n' });
    expect(await probe(host(), '/readyz?verbose')).toEqual({ status: 200, body: '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\nok\n' });
  });

  it('fails with every check listed; ?exclude skips one, unknown names are ignored', async () => {
    const noQuorum = host({ linearizable: false });
    expect(await probe(noQuorum, '/readyz')).toEqual({ status: 503, body: '[+]data_corruption ok\n[+]serializable_read ok\n[-]linearizable_read failed: no leader\n' });
    expect(await probe(noQuorum, '/readyz?exclude=linearizable_read&exclude=nope&verbose')).toEqual({ status: 200, body: '[+]data_corruption ok\n[+]serializable_read ok\nok\n' });
    expect(await probe(noQuorum, '/livez')).toEqual({ status: 200, body: 'ok\n' });
    expect(await probe(host({ alarms: ['CORRUPT'] }), '/readyz/data_corruption')).toEqual({ status: 503, body: '[-]data_corruption failed: alarm activated: CORRUPT\n' });
    expect(await probe(host({ stopped: 'member stopped' }), '/livez')).toEqual({ status: 503, body: '[-]serializable_read failed: member stopped\n' });
  });

  it('is not a probe path otherwise', async () => {
    for (const p of ['/readyz/nope', '/livez/serializable_read/x', '/ready', '/']) expect(await probe(host(), p)).toBeUndefined();
  });
});
