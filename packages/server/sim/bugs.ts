// Bugs planted on purpose (`pnpm sim:cluster --bug NAME`): each must be caught by some seed,
// which shows the simulator's checks can fail (packages/server/test/simCluster.test.ts).
import type { PlantedBugs } from '../src/member.js';

export const BUGS = {
  /** Votes and append acknowledgements leave before the write that they promise is durable. */
  'ack-before-durable': { ackBeforeDurable: true },
  /** The state machine's batch leaves out the applied index: a restart applies entries twice. */
  'skip-applied-index': { skipAppliedIndex: true },
  /** Followers expire leases on their own (they never see the renewals the leader takes). */
  'follower-lease-expiry': { expireLeasesOnFollowers: true },
  /** A member that believes it leads answers linearizable reads locally (a deposed, paused or cut-off leader serves stale values). */
  'leader-local-reads': { leaderLocalReads: true },
  /** A write checked against a stale auth store is applied after its permission was revoked. */
  'skip-auth-recheck': { skipAuthRecheck: true },
} as const satisfies Record<string, PlantedBugs>;

export type BugName = keyof typeof BUGS;

export const isBugName = (s: string): s is BugName => Object.hasOwn(BUGS, s);

export function bugOptions(name: BugName): PlantedBugs {
  return BUGS[name];
}
