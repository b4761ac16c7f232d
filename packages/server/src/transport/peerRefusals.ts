import type { Logger } from 'pino';

/** What the peer port refuses, as logged ("peer port: refused ..."); the keys label the metric. */
export const PEER_REFUSAL_TEXT = {
  tooManyHandshakes: 'too many unauthenticated peer sockets',
  unsignedMembers: 'an unsigned or wrongly signed GET /members',
  handshakeTimeout: 'a peer socket that did not finish the handshake in time',
  beforeHandshake: 'a peer frame before the handshake',
  badProof: 'a peer that could not prove it holds the peer secret',
  notMember: 'a peer that is not a member of this cluster',
  malformed: 'a malformed peer frame',
  formerMember: 'frames from a peer that is not a member (any more)',
  wrongSender: 'raft messages with another sender or receiver than the socket',
  snapshot: 'a snapshot',
} as const;
export type PeerRefusalKind = keyof typeof PEER_REFUSAL_TEXT;

/** Refusals of one kind from one address are logged at most this often (with a count). */
const REFUSAL_LOG_INTERVAL_MS = 1000;
/** Kind-and-address pairs remembered; past this the memory starts afresh. */
const MAX_REMEMBERED = 1000;

/**
 * The peer port's refusals: counted (the `cairn_peer_refused_total` metric) and logged with
 * what was refused and where from. Rate-limited per kind and address so that an outsider
 * cannot flood the log; the count of the ones not logged goes with the next line.
 */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly counted?: (kind: PeerRefusalKind) => void,
  ) {}

  refused(kind: PeerRefusalKind, address: string | undefined, fields: Record<string, unknown>): void {
    this.counted?.(kind);
    const k = `${kind}|${address ?? ''}`;
    const now = Date.now();
    const seen = this.last.get(k);
    if (seen !== undefined && now - seen.at < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (this.last.size > MAX_REMEMBERED) this.last.clear();
    this.last.set(k, { at: now, suppressed: 0 });
    const suppressed = seen !== undefined && seen.suppressed > 0 ? { alsoRefusedSinceLastLog: seen.suppressed } : {};
    this.log.warn({ ...fields, address, ...suppressed }, `peer port: refused ${PEER_REFUSAL_TEXT[kind]}`);
  }
}
