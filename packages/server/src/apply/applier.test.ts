import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeValue, type Compare, type RequestOp, type ResponseHeader } from '@cairn/protocol';
import { MemoryBackend } from '../storage/memory.js';
import { RocksBackend } from '../storage/rocks.js';
import type { Backend } from '../storage/backend.js';
import { b, tempDir } from '../testing/harness.js';
import { Applier } from './applier.js';
import { encodeWriteRequest, type WriteRequest } from './requests.js';

const header = (revision: number): ResponseHeader => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision), raftTerm: 1n });

async function applyAll(backend: Backend, entries: Uint8Array[], first = 1n, batchEvery = 3): Promise<{ applier: Applier; outcomes: unknown[] }> {
  const applier = Applier.load(backend, header);
  const outcomes: unknown[] = [];
  let i = first;
  for (const e of entries) {
    const o = applier.apply(i++, e);
    // Compared as wire bytes: a value read from disk is a Buffer, one still pending a Uint8Array.
    outcomes.push(Buffer.from(encodeValue(o.ok ? o.response : { error: o.error.code, details: o.error.details })).toString('hex'));
    if (Number(i) % batchEvery === 0) {
      const batch = applier.drain();
      await backend.write(batch.store.ops, { sync: true });
      applier.release(batch);
    }
  }
  const batch = applier.drain();
  await backend.write(batch.store.ops, { sync: true });
  applier.release(batch);
  return { applier, outcomes };
}

function dump(backend: Backend): string[] {
  return [...backend.scan({ gte: new Uint8Array([0]), lt: new Uint8Array([0xff]) })].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
}

const reqArb: fc.Arbitrary<WriteRequest> = fc.oneof(
  fc.record({ put: fc.record({ key: fc.constantFrom('a', 'b', 'c').map(b), value: fc.string({ maxLength: 2 }).map(b), prevKv: fc.boolean() }) }),
  fc.record({ deleteRange: fc.record({ key: fc.constantFrom('a', 'b').map(b), rangeEnd: fc.constantFrom('c', 'z').map(b), prevKv: fc.boolean() }) }),
  fc.record({ compact: fc.record({ revision: fc.bigInt({ min: 0n, max: 20n }) }) }),
  fc.record({
    txn: fc.record({
      compare: fc.constant<Compare[]>([{ key: b('a'), target: 'version', value: 1n, result: 'greater' }]),
      success: fc.constant<RequestOp[]>([{ put: { key: b('t'), value: b('1') } }]),
      failure: fc.constant<RequestOp[]>([{ deleteRange: { key: b('t') } }]),
    }),
  }),
);

describe('applier', () => {
  it('is deterministic: same entries, same state and outcomes, however batched', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { maxLength: 30, size: 'max' }), fc.integer({ min: 1, max: 7 }), async (reqs, every) => {
        const entries = reqs.map(encodeWriteRequest);
        const x = new MemoryBackend();
        const y = new MemoryBackend();
        const rx = await applyAll(x, entries, 1n, 1);
        const ry = await applyAll(y, entries, 1n, every);
        expect(ry.outcomes).toEqual(rx.outcomes);
        expect(dump(y)).toEqual(dump(x));
      }),
      { numRuns: 100 },
    );
  });

  it('stores the applied index with the data: a restart resumes after it', async () => {
    const dir = tempDir();
    try {
      let backend = await RocksBackend.open(dir.dir);
      const entries = Array.from({ length: 10 }, (_, i) => encodeWriteRequest({ put: { key: b(`k${i}`), value: b('v') } }));
      const { applier } = await applyAll(backend, entries);
      expect(applier.appliedIndex).toBe(10n);
      await backend.close();

      backend = await RocksBackend.open(dir.dir);
      const again = Applier.load(backend, header);
      expect(again.appliedIndex).toBe(10n);
      expect(again.store.currentRevision).toBe(11);
      // Replaying an entry already applied is refused (the caller resumes at applied + 1).
      expect(() => again.apply(10n, entries[9]!)).toThrow(/out of order/);
      const o = again.apply(11n, encodeWriteRequest({ put: { key: b('k0'), value: b('w') } }));
      expect(o.ok && 'put' in o.response && o.response.put.header.revision).toBe(12n);
      await backend.close();
    } finally {
      dir.cleanup();
    }
  });

  it('an unapplied batch is lost together with its applied index', async () => {
    const backend = new MemoryBackend();
    const applier = Applier.load(backend, header);
    applier.apply(1n, encodeWriteRequest({ put: { key: b('a'), value: b('1') } }));
    const batch = applier.drain();
    await backend.write(batch.store.ops, { sync: true });
    applier.release(batch);
    applier.apply(2n, encodeWriteRequest({ put: { key: b('a'), value: b('2') } }));
    applier.drain(); // never written: a crash before fsync
    const restarted = Applier.load(backend, header);
    expect(restarted.appliedIndex).toBe(1n);
    expect(restarted.store.currentRevision).toBe(2);
  });

  it('treats an undecodable entry as a broken invariant, not an outcome', () => {
    const applier = Applier.load(new MemoryBackend(), header);
    expect(() => applier.apply(1n, encodeValue({ bogus: 1 }))).toThrow();
  });
});

describe('applier: auth re-checked at apply', () => {
  /** An applier with auth on: root, and alice holding role `rw` (readwrite on a/). */
  function withAuth(): { applier: Applier; next: () => bigint } {
    const applier = Applier.load(new MemoryBackend(), header);
    let i = 0n;
    const next = (): bigint => ++i;
    const ops: WriteRequest[] = [
      { auth: { op: 'roleAdd', name: 'root' } },
      { auth: { op: 'userAdd', name: 'root' } },
      { auth: { op: 'userGrantRole', user: 'root', role: 'root' } },
      { auth: { op: 'roleAdd', name: 'rw' } },
      { auth: { op: 'roleGrantPermission', name: 'rw', perm: { permType: 'readwrite', key: b('a/'), rangeEnd: b('a0') } } },
      { auth: { op: 'userAdd', name: 'alice' } },
      { auth: { op: 'userGrantRole', user: 'alice', role: 'rw' } },
      { auth: { op: 'enable', secret: new Uint8Array(32) } },
    ];
    for (const op of ops) expect(applier.apply(next(), encodeWriteRequest(op)).ok).toBe(true);
    return { applier, next };
  }
  const put = encodeWriteRequest({ put: { key: b('a/k'), value: b('v') } });
  const codeOf = (o: ReturnType<Applier['apply']>): string => (o.ok ? 'ok' : o.error.code);

  it('refuses a write whose permission was revoked after it was checked, the same on every member', () => {
    const outcomes: string[][] = [];
    for (let member = 0; member < 3; member++) {
      const { applier, next } = withAuth();
      const checkedAt = applier.auth.revision;
      const out: string[] = [];
      // Checked at the current revision: nothing moved, applied as is.
      out.push(codeOf(applier.apply(next(), put, 1, { user: 'alice', authRevision: checkedAt })));
      // The role is revoked while a second write, checked before that, waits in the log.
      out.push(codeOf(applier.apply(next(), encodeWriteRequest({ auth: { op: 'userRevokeRole', user: 'alice', role: 'rw' } }), 1, { user: 'root', authRevision: checkedAt })));
      out.push(codeOf(applier.apply(next(), put, 1, { user: 'alice', authRevision: checkedAt })));
      // A write checked while auth was off and applied after it was enabled has no user.
      out.push(codeOf(applier.apply(next(), put, 1, { user: '', authRevision: 0n })));
      // The member's own requests carry no stamp and are not checked.
      out.push(codeOf(applier.apply(next(), put, 1)));
      // Root management checked before the revoke still goes (root is still root).
      out.push(codeOf(applier.apply(next(), encodeWriteRequest({ auth: { op: 'roleAdd', name: 'x' } }), 1, { user: 'root', authRevision: checkedAt })));
      // alice is not root: her compaction, checked at an older revision, is refused.
      out.push(codeOf(applier.apply(next(), encodeWriteRequest({ compact: { revision: 1n } }), 1, { user: 'alice', authRevision: checkedAt })));
      expect(applier.store.range({ key: b('a/k') }).kvs[0]?.version).toBe(2n);
      outcomes.push(out);
    }
    expect(outcomes[0]).toEqual(['ok', 'ok', 'permission_denied', 'user_empty', 'ok', 'ok', 'permission_denied']);
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
  });

  it('records the granting user as the lease owner; a revoke re-checked at apply needs the owner or root', () => {
    const { applier, next } = withAuth();
    const rev = applier.auth.revision;
    expect(applier.apply(next(), encodeWriteRequest({ leaseGrant: { id: 7n, ttlSeconds: 10 } }), 1, { user: 'alice', authRevision: rev }).ok).toBe(true);
    expect(applier.lessor.get(7n)?.owner).toBe('alice');
    expect(applier.apply(next(), encodeWriteRequest({ auth: { op: 'userAdd', name: 'bob' } }), 1, { user: 'root', authRevision: rev }).ok).toBe(true);
    // bob's revoke was let through by a (stale) check; the applier refuses it.
    expect(codeOf(applier.apply(next(), encodeWriteRequest({ leaseRevoke: { id: 7n } }), 1, { user: 'bob', authRevision: rev }))).toBe('permission_denied');
    expect(applier.lessor.exists(7n)).toBe(true);
    expect(codeOf(applier.apply(next(), encodeWriteRequest({ leaseRevoke: { id: 7n } }), 1, { user: 'alice', authRevision: rev }))).toBe('ok');
  });
});
