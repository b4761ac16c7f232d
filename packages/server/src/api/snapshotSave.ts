import { CairnError, ErrorCode, Snapshot, toCairnError, validate, type ResponseHeader } from '@cairn/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { Backend } from '../storage/backend.js';
import { snapshotSource, type SnapshotSource } from '../backup/source.js';
import type { StreamOpener } from './streams.js';

/** Bytes of snapshot data per message. */
export const SNAPSHOT_MESSAGE_BYTES = 256 * 1024;
/** Messages sent and not yet acknowledged by the client: with the above, 2 MiB per stream. */
export const SNAPSHOT_WINDOW_MESSAGES = 8;
/** Above this many bytes queued on the socket, sending waits (a slow network, not a slow reader). */
const MAX_SOCKET_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How often a stream waiting on the socket looks again. */
const SOCKET_POLL_MS = 10;
/** Snapshot streams one member serves at once (each pins a RocksDB view); more get `unavailable`. */
export const MAX_SNAPSHOT_STREAMS = 2;

/** What the snapshot stream needs from the member around it (it does not import Member). */
export interface SnapshotSaveHost {
  readonly backend: Backend;
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly serverVersion: string;
  /** Resolves once this member has applied every write acknowledged anywhere (ReadIndex). */
  linearizable(): Promise<void>;
  /** Resolves once everything applied so far is in the state tables on disk. */
  written(): Promise<void>;
  header(): ResponseHeader;
  /** Throws if a CORRUPT alarm names this member (its data must not be copied). */
  checkNotCorrupt(): void;
  readonly log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * `maintenance.snapshot`, like etcd's Maintenance.Snapshot: root only. The copy is taken after a
 * ReadIndex round and once what was applied is on disk, so every write acknowledged before the
 * stream opened is in it; it is one RocksDB point-in-time view, so writes go on meanwhile and
 * none is half in it. Flow: at most SNAPSHOT_WINDOW_MESSAGES messages unacknowledged (the
 * client acks what its reader consumed) and nothing sent while the socket holds more than
 * MAX_SOCKET_BUFFERED_BYTES: the member never holds more than a few MB for a stream, whatever
 * the size of the store.
 */
export function snapshotStream(host: SnapshotSaveHost, auth: Authorizer): [string, StreamOpener] {
  let open = 0;
  const opener: StreamOpener = (params, ctx) => {
    validate.emptyRequest(params ?? {}, '');
    auth.admin(ctx.caller);
    host.checkNotCorrupt();
    if (open >= MAX_SNAPSHOT_STREAMS) {
      throw new CairnError(ErrorCode.Unavailable, `this member is already streaming ${open} snapshots (at most ${MAX_SNAPSHOT_STREAMS}); try again later`);
    }
    open++;
    let source: SnapshotSource | undefined;
    let piece: Uint8Array | undefined;
    let pieceAt = 0;
    let pieceLast = false;
    let seq = 0;
    let acked = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    const finish = (err?: CairnError): void => {
      if (done) return;
      done = true;
      open--;
      clearTimeout(timer);
      source?.close();
      const info = { bytes: source?.bytes ?? 0, rows: source?.rows ?? 0, ms: Math.round(performance.now() - t0) };
      if (err === undefined) host.log.info(info, 'snapshot streamed to a client');
      else host.log.warn({ ...info, err: err.message }, 'snapshot stream ended early');
      ctx.end(err);
    };
    /** The next message's blob: a slice of the current piece, or the next piece. */
    const nextBlob = (): { blob: Uint8Array; last: boolean } | undefined => {
      while (piece === undefined || pieceAt >= piece.length) {
        const p = source!.next();
        if (p === undefined) return undefined;
        piece = p.bytes;
        pieceAt = 0;
        pieceLast = p.last;
      }
      const blob = piece.subarray(pieceAt, pieceAt + SNAPSHOT_MESSAGE_BYTES);
      pieceAt += blob.length;
      return { blob, last: pieceLast && pieceAt >= piece.length };
    };
    const pump = (): void => {
      timer = undefined;
      if (done || source === undefined) return;
      try {
        while (seq - acked < SNAPSHOT_WINDOW_MESSAGES) {
          if (ctx.bufferedBytes() > MAX_SOCKET_BUFFERED_BYTES) {
            timer = setTimeout(pump, SOCKET_POLL_MS);
            return;
          }
          const next = nextBlob();
          if (next === undefined) return finish();
          ctx.send({ header: host.header(), seq: ++seq, blob: next.blob, ...(next.last ? { last: true } : {}) });
          if (next.last) return finish();
        }
      } catch (err) {
        finish(toCairnError(err));
      }
    };
    host
      .linearizable()
      .then(() => host.written())
      .then(() => {
        if (done) return;
        source = snapshotSource(host.backend, { clusterId: host.clusterId, memberId: host.memberId, createdAtMs: Date.now(), serverVersion: host.serverVersion });
        pump();
      })
      .catch((err: unknown) => finish(toCairnError(err)));
    return {
      message: (m) => {
        const { ack } = validate.snapshotAck(m, '');
        if (ack > seq) throw new CairnError(ErrorCode.InvalidArgument, `ack ${ack} is ahead of the last message sent (${seq})`);
        if (ack > acked) acked = ack;
        if (timer === undefined) pump();
      },
      close: () => {
        if (done) return;
        done = true;
        open--;
        clearTimeout(timer);
        source?.close();
        host.log.info({ bytes: source?.bytes ?? 0 }, 'snapshot stream closed by the client');
      },
    };
  };
  return [Snapshot.method, opener];
}
