import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Member } from '../member.js';
import { SERVER_VERSION } from '../version.js';
import type { WatchHub } from '../watch/hub.js';
import type { RocksBackend } from '../storage/rocks.js';
import type { HealthHost } from './health.js';
import type { MetricsSource } from './metrics.js';

/** The parts a member's HTTP side reads, filled in as the server starts (absent: not yet). */
export interface MemberParts {
  member?: Member;
  hub?: WatchHub;
  /** Client WebSockets open now. */
  connections?: () => number;
}

const KEY = new Uint8Array([0]);

/** What the metrics read of one member at scrape time (zeros until it exists). */
export function metricsSource(parts: MemberParts, backend: RocksBackend, memberId: bigint, quotaBackendBytes: number): MetricsSource {
  const m = (): Member | undefined => parts.member;
  return {
    memberId,
    serverVersion: SERVER_VERSION,
    quotaBackendBytes,
    leaderId: () => m()?.leaderId ?? 0n,
    isLeader: () => m()?.isLeader() ?? false,
    isLearner: () => m()?.applier.confState.learners.includes(memberId) ?? false,
    committedIndex: () => BigInt(m()?.driver.committed ?? 0),
    appliedIndex: () => m()?.appliedIndex ?? 0n,
    proposalsPending: () => m()?.proposalsPending ?? 0,
    dbSizes: () => m()?.dbSizes() ?? { dbSizeBytes: backend.sizeBytes(), dbSizeInUseBytes: 0 },
    revision: () => m()?.revision ?? 0n,
    compactRevision: () => BigInt(m()?.applier.store.compactRevision ?? 0),
    keys: () => m()?.applier.store.tree.size ?? 0,
    watchers: () => parts.hub?.size ?? 0,
    slowWatchers: () => parts.hub?.unsyncedCount ?? 0,
    eventsSent: () => parts.hub?.eventsSent ?? 0,
    storageMemoryBytes: () => backend.memoryBytes(),
    clientConnections: () => parts.connections?.() ?? 0,
  };
}

/** What /health, /livez and /readyz ask of the member. */
export function healthHost(member: Member, stopped: () => string): HealthHost {
  return {
    stopped,
    alarms: () => [...new Set(member.applier.alarms.list().map((a) => a.alarm.toUpperCase()))],
    leaderId: () => member.leaderId,
    read: async (serializable) => {
      // Without a leader a ReadIndex round waits out the request timeout; a probe hears now.
      if (!serializable && member.leaderId === 0n) throw new CairnError(ErrorCode.NoLeader, 'no leader');
      await member.range({ key: KEY, keysOnly: true, limit: 1, serializable });
    },
  };
}
