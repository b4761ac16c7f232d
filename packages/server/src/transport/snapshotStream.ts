import { CairnError, ErrorCode } from '@cairn/protocol';
import { WebSocket, type WsClientOptions, type WsSocket } from '../api/ws.js';
import { PEER_PROTOCOL_VERSION, decodePeerFrame, encodePeerFrame, type PeerFrame } from './frames.js';
import { peerSocketUrl, toBytes, zeroMask } from './peerLink.js';
import { dialerProof, newNonce, type PeerKey } from './peerAuth.js';

/** Chunks sent but not yet acknowledged: bounds the memory a transfer holds on both sides. */
const MAX_UNACKED_CHUNKS = 4;
/** A receiver that goes silent for this long has failed the transfer. */
const IDLE_TIMEOUT_MS = 30_000;

export interface SnapshotSendOptions {
  /** The follower's peer URL. */
  readonly url: string;
  readonly tls: WsClientOptions;
  readonly key: PeerKey;
  readonly clusterId: bigint;
  readonly from: bigint;
  readonly to: bigint;
  /** The leader's term: the receiver steps the snapshot as a message of this term. */
  readonly term: number;
  readonly maxFrameBytes: number;
  /**
   * The data: each call returns the next rows ([k, v, k, v, ...], about one chunk's worth), or
   * undefined at the end. Called only when the window has room, so the reader is never far
   * ahead of the network.
   */
  readonly next: () => Uint8Array[] | undefined;
}

/**
 * Streams a state-machine snapshot to a follower over its own WebSocket, in chunks, at most
 * MAX_UNACKED_CHUNKS ahead of the follower's acknowledgements: a store of hundreds of MB goes
 * through a few MB of memory. Resolves once the follower has staged everything and taken the
 * snapshot (`done`); rejects on refusal, a lost socket or a silent receiver.
 */
export function sendSnapshot(o: SnapshotSendOptions): Promise<{ rows: number }> {
  return new Promise((resolve, reject) => {
    const ws: WsSocket = new WebSocket(peerSocketUrl(o.url, 'snapshot'), { ...o.tls, maxPayload: o.maxFrameBytes, perMessageDeflate: false, handshakeTimeout: 5000, generateMask: zeroMask });
    let seq = 0;
    let acked = 0;
    let rows = 0;
    let ended = false;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const write = (f: PeerFrame): void => ws.send(encodePeerFrame(f));
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (err === undefined) {
        ws.close(1000);
        resolve({ rows });
      } else {
        ws.terminate();
        reject(err);
      }
    };
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new CairnError(ErrorCode.Timeout, 'snapshot receiver went silent')), IDLE_TIMEOUT_MS);
    };
    const pump = (): void => {
      while (!ended && seq - acked < MAX_UNACKED_CHUNKS) {
        let chunk: Uint8Array[] | undefined;
        try {
          chunk = o.next();
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (chunk === undefined) {
          ended = true;
          write({ t: 'end', c: o.clusterId, rows });
          return;
        }
        rows += chunk.length / 2;
        write({ t: 'chunk', c: o.clusterId, seq: ++seq, rows: chunk });
      }
    };
    const nonce = newNonce();
    let proven = false;
    let authed = false;
    ws.on('open', () => {
      touch();
      write({ t: 'hello', c: o.clusterId, from: o.from, to: o.to, v: PEER_PROTOCOL_VERSION, n: nonce, term: o.term });
    });
    ws.on('message', (data) => {
      touch();
      let f: PeerFrame;
      try {
        f = decodePeerFrame(toBytes(data));
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (f.c !== o.clusterId) return finish(new CairnError(ErrorCode.ClusterIdMismatch));
      if (f.t === 'challenge' && !authed) {
        const p = dialerProof(o.key, '/snapshot', { clusterId: o.clusterId, from: o.from, to: o.to, dialerNonce: nonce }, f);
        if (p === undefined) return finish(new CairnError(ErrorCode.Unavailable, 'the snapshot receiver could not prove it holds the peer secret'));
        proven = true;
        write({ t: 'proof', c: o.clusterId, p });
      } else if (f.t === 'ok' && !authed && proven) {
        authed = true;
        pump();
      } else if (f.t === 'refused') finish(new CairnError(ErrorCode.Unavailable, `snapshot refused: ${f.message}`));
      else if (!authed) finish(new CairnError(ErrorCode.Unavailable, `snapshot receiver sent ${f.t} before the handshake`));
      else if (f.t === 'ack') {
        acked = Math.max(acked, f.seq);
        pump();
      } else if (f.t === 'done') finish();
    });
    ws.on('error', (err) => finish(err));
    ws.on('close', () => finish(new CairnError(ErrorCode.Unavailable, 'snapshot socket closed before the transfer finished')));
  });
}

/** The follower's side of one transfer, created when a leader's snapshot socket says hello. */
export interface SnapshotReceiver {
  /** Stages rows ([k, v, k, v, ...]); resolves when they are written (then the chunk is acked). */
  chunk(rows: readonly Uint8Array[]): Promise<void>;
  /** All `rows` rows arrived: finish staging and hand the snapshot to raft. */
  end(rows: number): Promise<void>;
  /** The transfer failed or was cut: forget what was staged. */
  abort(): void;
}
