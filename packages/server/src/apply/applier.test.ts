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
