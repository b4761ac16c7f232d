import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Member } from '@cairn/protocol';
import { MEMBERS_NONCE_HEADER, MEMBERS_PROOF_HEADER, MEMBERS_REQUEST_WINDOW_MS, hexProofMatches, membersNonceTime, membersRequestProof, membersResponseProof, type PeerKey } from './peerAuth.js';
import type { RefusalLog } from './peerRefusals.js';

/** Signed /members nonces remembered against replay (for MEMBERS_REQUEST_WINDOW_MS). */
const MAX_REMEMBERED_NONCES = 10_000;

export interface MembersEndpointHost {
  readonly key: PeerKey;
  /** The cluster as this member knows it; throws while it cannot say. */
  clusterMembers(): { clusterId: bigint; members: readonly Member[] };
}

/**
 * The peer port's plain HTTP side: `GET /health` (200 while the member runs, the only thing
 * answered without proof) and `GET /members`, the member list with the cluster id that a
 * joining member asks for. The request and the answer of /members are signed with the peer
 * key (peerAuth.ts); a nonce is accepted once within its window.
 */
export class MembersEndpoint {
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly host: MembersEndpointHost,
    private readonly refusals: RefusalLog,
  ) {}

  serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') return json(405, { message: 'method not allowed' });
    if (path === '/health') return json(200, { health: 'true' });
    if (path !== '/members') return json(404, { message: 'not found' });
    const nonce = req.headers[MEMBERS_NONCE_HEADER];
    const proof = req.headers[MEMBERS_PROOF_HEADER];
    const n = typeof nonce === 'string' ? nonce : '';
    const sent = membersNonceTime(n);
    const now = Date.now();
    const fresh = sent !== undefined && Math.abs(now - sent) < MEMBERS_REQUEST_WINDOW_MS && !this.nonces.has(n);
    if (!fresh || !hexProofMatches(membersRequestProof(this.host.key, n), typeof proof === 'string' ? proof : undefined)) {
      this.refusals.refused('unsignedMembers', req.socket.remoteAddress, { stale: sent !== undefined && !fresh });
      return json(401, { message: 'GET /members needs a request signed with the peer secret (--peer-secret-file or the initial-cluster token)' });
    }
    this.remember(n, now);
    let body: string;
    try {
      const { clusterId, members } = this.host.clusterMembers();
      body = JSON.stringify({
        clusterId: clusterId.toString(16),
        members: members.map((m) => ({ id: m.id.toString(16), name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner })),
      });
    } catch (err) {
      return json(503, { message: (err as Error).message });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [MEMBERS_PROOF_HEADER]: membersResponseProof(this.host.key, n, body) });
    res.end(body);
  }

  private remember(nonce: string, now: number): void {
    if (this.nonces.size >= MAX_REMEMBERED_NONCES) {
      for (const [k, at] of this.nonces) if (now - at > MEMBERS_REQUEST_WINDOW_MS) this.nonces.delete(k);
      // Still full: forget the oldest (a replay of it is then possible, but only for its window).
      if (this.nonces.size >= MAX_REMEMBERED_NONCES) this.nonces.delete(this.nonces.keys().next().value as string);
    }
    this.nonces.set(nonce, now);
  }
}
