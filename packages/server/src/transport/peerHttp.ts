import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Member } from '@cairn/protocol';
import type { WsClientOptions } from '../api/ws.js';

function getJson(url: string, tls: WsClientOptions, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { ...tls, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
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
 * a joining member does; tries each URL in turn until one answers, for up to `timeoutMs`.
 */
export async function fetchMembers(
  peerUrls: readonly string[],
  tls: WsClientOptions,
  timeoutMs: number,
  onRetry?: (err: Error) => void,
): Promise<{ clusterId: bigint; members: Member[] }> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (let round = 0; Date.now() < deadline; round++) {
    for (const u of peerUrls) {
      try {
        return parseMembers(await getJson(`${u.replace(/\/+$/, '')}/members`, tls, 2000));
      } catch (err) {
        last = err as Error;
      }
    }
    if (last !== undefined) onRetry?.(last);
    await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** round)));
  }
  throw new Error(`no member of the cluster answered at ${peerUrls.join(', ')}: ${last?.message ?? 'timed out'}`);
}
