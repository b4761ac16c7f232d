import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Backoff, type Member } from '@cairn/protocol';
import type { WsClientOptions } from '../api/ws.js';
import { MEMBERS_NONCE_HEADER, MEMBERS_PROOF_HEADER, hexProofMatches, membersNonce, membersRequestProof, membersResponseProof, type PeerKey } from './peerAuth.js';

/** A member list larger than this is not one. */
const MAX_MEMBERS_BODY_BYTES = 1 << 20;

/** GET with a request signed by the peer key; the answer must be signed by it too. */
function getSignedJson(url: string, tls: WsClientOptions, key: PeerKey, timeoutMs: number): Promise<unknown> {
  const nonce = membersNonce(Date.now());
  const headers = { [MEMBERS_NONCE_HEADER]: nonce, [MEMBERS_PROOF_HEADER]: membersRequestProof(key, nonce) };
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { ...tls, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > MAX_MEMBERS_BODY_BYTES) req.destroy(new Error(`${url}: answer larger than ${MAX_MEMBERS_BODY_BYTES} bytes`));
      });
      res.on('end', () => {
        if (res.statusCode === 401) return reject(new Error(`${url}: the member refused our signature: start this member with the cluster's peer secret (--peer-secret-file, or the same --initial-cluster-token)`));
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        const proof = res.headers[MEMBERS_PROOF_HEADER];
        if (!hexProofMatches(membersResponseProof(key, nonce, body), typeof proof === 'string' ? proof : undefined)) {
          return reject(new Error(`${url}: the answer is not signed with the cluster's peer secret; not trusting it`));
        }
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function parseMembers(v: unknown): { clusterId: bigint; members: Member[] } {
  const o = v as { clusterId?: unknown; members?: unknown };
  if (typeof o.clusterId !== 'string' || !Array.isArray(o.members)) throw new Error('not a member list');
  const members = o.members.map((m: Record<string, unknown>) => ({
    id: BigInt(`0x${String(m['id'])}`),
    name: String(m['name'] ?? ''),
    peerUrls: (m['peerUrls'] as string[] | undefined) ?? [],
    clientUrls: (m['clientUrls'] as string[] | undefined) ?? [],
    isLearner: m['isLearner'] === true,
  }));
  return { clusterId: BigInt(`0x${o.clusterId}`), members };
}

/**
 * Asks members at `peerUrls` (GET /members on the peer port) for the cluster's member list, as
 * a joining member does (signed with the peer key both ways); tries each URL in turn until one answers, for up to `timeoutMs`.
 */
export async function fetchMembers(
  peerUrls: readonly string[],
  tls: WsClientOptions,
  key: PeerKey,
  timeoutMs: number,
  onRetry?: (err: Error) => void,
): Promise<{ clusterId: bigint; members: Member[] }> {
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
  let last: Error | undefined;
  while (Date.now() < deadline) {
    for (const u of peerUrls) {
      try {
        return parseMembers(await getSignedJson(`${u.replace(/\/+$/, '')}/members`, tls, key, 2000));
      } catch (err) {
        last = err as Error;
      }
    }
    if (last !== undefined) onRetry?.(last);
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(backoff.next(), deadline - Date.now()))));
  }
  throw new Error(`no member of the cluster answered at ${peerUrls.join(', ')}: ${last?.message ?? 'timed out'}`);
}
