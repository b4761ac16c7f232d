import type { Backend } from '../storage/backend.js';
import type { SnapshotSaveHost } from '../api/snapshotSave.js';
import { SERVER_VERSION, type Member } from '../member.js';

/** The snapshot stream's view of a running member (kept here so member.ts need not know it). */
export function snapshotHost(m: Member, backend: Backend, log: SnapshotSaveHost['log']): SnapshotSaveHost {
  return {
    backend,
    clusterId: m.clusterId,
    memberId: m.memberId,
    serverVersion: SERVER_VERSION,
    linearizable: () => m.linearizable(),
    written: () => m.written(),
    header: () => m.header(),
    checkNotCorrupt: () => m.checkNotCorrupt(),
    log,
  };
}
