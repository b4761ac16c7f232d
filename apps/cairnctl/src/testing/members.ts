import type { Member } from '@cairn/client';

/**
 * Test support: a member on 127.0.0.1 with client port `port` and peer port `port + 1`, as in
 * etcdctl-reference.txt; one that has not started yet (empty name) has no client URLs.
 */
export function memberAt(id: bigint, name: string, port: number, isLearner = false): Member {
  return {
    id,
    name,
    peerUrls: [`http://127.0.0.1:${port + 1}`],
    clientUrls: name === '' ? [] : [`http://127.0.0.1:${port}`],
    isLearner,
  };
}

/** m1 and m2 of the reference transcript. */
export const M1 = memberAt(0x8b91bf796edb011en, 'm1', 22379);
export const M2 = memberAt(0x9bce67ee81f1e303n, 'm2', 23379);
