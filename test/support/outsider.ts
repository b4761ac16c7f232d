/**
 * An outsider on the peer port: it knows everything a network observer of the client port can
 * learn (cluster id, member ids, terms, the applied index, the initial-cluster token if it is
 * the default) but not the peer secret. Each attempt opens a fresh socket, tries its frames and
 * reports what the member answered; nothing here waits longer than its own deadline.
 */
import { randomBytes } from 'node:crypto';
import { encodeValue, decodeValue } from '@cairn/protocol';
import { encodeWriteRequest } from '@cairn/server';
// The daemon's own ws binding (typed there); the tests have no WebSocket client of their own.
import { WebSocket, type WsSocket } from '../../packages/server/src/api/ws.js';
import { handshakeProof, type PeerKey } from '../../packages/server/src/transport/peerAuth.js';

export { peerKeyFromToken } from '../../packages/server/src/transport/peerAuth.js';

export interface Target {
  readonly peerUrl: string;
  readonly clusterId: bigint;
  readonly memberId: bigint;
}

/** How the attempt tries to get past the handshake. */
export type Approach =
  /** Frames at once, no hello. */
  | 'no-hello'
  /** Hello, then frames without answering the challenge. */
  | 'skip-proof'
  /** Hello, a made-up proof, then frames. */
  | 'bad-proof'
  /** Hello, a proof made with `key` (a guessed key: the one the default token gives), then frames. */
  | 'key';

export interface Outcome {
  /** Frame types the member sent back, in order. */
  readonly answers: string[];
  /** The refusal code, if the member refused. */
  readonly refused: string | undefined;
  /** Whether the member said `ok` (the handshake passed): must never happen for an outsider. */
  readonly accepted: boolean;
}

const PROPOSAL_FORMAT = 1;

/** A log entry's data as a member proposes it: format byte, origin, sequence, write request. */
export function proposalData(request: Parameters<typeof encodeWriteRequest>[0], origin = 0x1337n): Uint8Array {
  const body = encodeWriteRequest(request);
  const out = new Uint8Array(17 + body.length);
  const dv = new DataView(out.buffer);
  out[0] = PROPOSAL_FORMAT;
  dv.setBigUint64(1, origin);
  dv.setBigUint64(9, BigInt(Date.now()));
  out.set(body, 17);
  return out;
}

export function message(o: { type: string; from: bigint; to: bigint; term: number; index?: number; logTerm?: number; commit?: number; entries?: { term: number; index: number; type: 'normal' | 'confChange'; data: Uint8Array }[] }) {
  return {
    type: o.type,
    to: o.to,
    from: o.from,
    term: o.term,
    logTerm: o.logTerm ?? 0,
    index: o.index ?? 0,
    entries: o.entries ?? [],
    commit: o.commit ?? 0,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(),
  };
}

/**
 * One attempt: dial `path` of the target as member `from`, get past the handshake the way
 * `approach` says, send `frames`, and collect the answers for up to `waitMs`.
 */
export function attempt(
  t: Target,
  path: '/raft' | '/snapshot',
  from: bigint,
  approach: Approach,
  frames: Record<string, unknown>[],
  o: { term?: number; waitMs?: number; key?: PeerKey; tls?: { ca: Buffer; cert?: Buffer; key?: Buffer } } = {},
): Promise<Outcome> {
  const waitMs = o.waitMs ?? 1500;
  return new Promise((resolve) => {
    const url = `${t.peerUrl.replace(/^http/, 'ws')}${path}`;
    const ws: WsSocket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 3000, ...(o.tls ?? {}) });
    const nonce = randomBytes(32);
    const answers: string[] = [];
    let refused: string | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.terminate();
      resolve({ answers, refused, accepted: answers.includes('ok') });
    };
    const timer = setTimeout(finish, waitMs);
    const send = (f: Record<string, unknown>): void => {
      if (ws.readyState === 1) ws.send(encodeValue({ c: t.clusterId, ...f }));
    };
    const sendFrames = (): void => {
      for (const f of frames) send(f);
    };
    ws.on('open', () => {
      if (approach === 'no-hello') return sendFrames();
      send({ t: 'hello', from, to: t.memberId, v: 2, n: nonce, ...(o.term !== undefined ? { term: o.term } : {}) });
      if (approach === 'skip-proof') sendFrames();
    });
    ws.on('message', (data: unknown) => {
      let f: Record<string, unknown>;
      try {
        f = decodeValue(data as Uint8Array) as Record<string, unknown>;
      } catch {
        answers.push('garbage');
        return;
      }
      answers.push(String(f['t']));
      if (f['t'] === 'refused') refused = String(f['code']);
      if (f['t'] === 'challenge' && approach === 'bad-proof') {
        send({ t: 'proof', p: randomBytes(32) });
        sendFrames();
      }
      if (f['t'] === 'challenge' && approach === 'key' && o.key !== undefined) {
        const claims = { path, clusterId: t.clusterId, from, to: t.memberId, dialerNonce: nonce, listenerNonce: f['n'] as Uint8Array };
        send({ t: 'proof', p: handshakeProof(o.key, 'dialer', claims) });
      }
      // Past the handshake (only with the right key): now the frames.
      if (f['t'] === 'ok' && approach === 'key') sendFrames();
    });
    ws.on('error', () => finish());
    ws.on('close', () => finish());
  });
}

/** GET /members on the peer port, with no signature: the status code. */
export async function unsignedMembers(peerUrl: string): Promise<number> {
  const res = await fetch(`${peerUrl}/members`);
  await res.arrayBuffer();
  return res.status;
}
