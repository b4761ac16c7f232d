/**
 * etcd's Node client (the `etcd3` package) against Cairn's etcd gRPC API, unchanged, and the
 * protocol's edge cases over raw gRPC: compacted watch starts, keep-alive of an expired
 * lease, too-large requests, and malformed input on the gRPC port.
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { FIRST_REQUEST_WAIT_MS } from '../packages/server/src/grpc/mux.js';
import { ROOT, singleMember, waitFor } from './support/process.js';

// etcd's .proto files as the server has them, to speak raw etcd gRPC in the edge cases.
const PROTO = `${ROOT}/packages/server/proto`;
const def = loader.loadSync(['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO] });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const pkgs = grpc.loadPackageDefinition(def) as any;
const pb = { ...pkgs.etcdserverpb, Lock: pkgs.v3lockpb.Lock, Election: pkgs.v3electionpb.Election };

let endpoint: string;
let cleanup: () => Promise<void>;
let client: Etcd3;

beforeAll(async () => {
  const m = await singleMember();
  endpoint = m.member.endpoint;
  cleanup = m.cleanup;
  client = new Etcd3({ hosts: endpoint, dialTimeout: 5000 });
}, 60_000);
afterAll(async () => {
  client?.close();
  await cleanup?.();
});

/** A raw etcd gRPC call: resolves with the response or rejects with the ServiceError. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function raw(service: string, method: string, req: object): Promise<any> {
  const stub = new pb[service](endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    stub[method](req, (err: Error | null, res: unknown) => {
      stub.close();
      if (err !== null) reject(err);
      else resolve(res);
    }),
  );
}

describe('the etcd3 npm client', () => {
  it('puts, gets, deletes and runs txns with compares', async () => {
    await client.put('e3/a').value('1');
    await client.put('e3/b').value('2');
    expect(await client.get('e3/a').string()).toBe('1');
    expect(await client.getAll().prefix('e3/').strings()).toEqual({ 'e3/a': '1', 'e3/b': '2' });
    const yes = await client.if('e3/a', 'Value', '==', '1').then(client.put('e3/a').value('one')).else(client.get('e3/a')).commit();
    expect(yes.succeeded).toBe(true);
    const no = await client.if('e3/a', 'Value', '==', '1').then(client.put('e3/a').value('x')).else(client.get('e3/a')).commit();
    expect(no.succeeded).toBe(false);
    expect(no.responses[0]?.response_range?.kvs[0]?.value.toString()).toBe('one');
    expect(await client.if('e3/b', 'Version', '>', 0).then(client.delete().key('e3/b')).commit()).toMatchObject({ succeeded: true });
    expect(await client.get('e3/b').string()).toBeNull();
    expect((await client.delete().prefix('e3/')).deleted).toBe('1');
  });

  it('watches, and resumes from a revision', async () => {
    const first = await client.put('e3w/k').value('v1');
    const rev = BigInt(first.header.revision);
    await client.put('e3w/k').value('v2');
    // started at the first put's revision: both puts, replayed from history
    const watcher = await client.watch().key('e3w/k').startRevision(rev.toString()).create();
    const seen: string[] = [];
    watcher.on('put', (kv) => seen.push(kv.value.toString()));
    await waitFor('the replayed puts', () => seen.length >= 2, 10_000);
    await client.put('e3w/k').value('v3');
    await waitFor('the live put', () => seen.includes('v3'), 10_000);
    expect(seen).toEqual(['v1', 'v2', 'v3']);
    await watcher.cancel();
  });

  it('keeps a lease alive, and reports it lost once it is revoked', async () => {
    const lease = client.lease(5, { autoKeepAlive: true });
    const id = await lease.grant();
    await client.put('e3l/k').value('v').lease(id);
    let renewed = 0;
    lease.on('keepaliveSucceeded', () => renewed++);
    await waitFor('a keep-alive', () => renewed > 0, 15_000);
    let lost: Error | undefined;
    lease.on('lost', (err) => (lost = err));
    await raw('Lease', 'LeaseRevoke', { ID: id });
    await waitFor('the lease reported lost', () => lost !== undefined, 15_000);
    expect(await client.get('e3l/k').string()).toBeNull();
  });

  it('locks: a second holder waits until the first releases', async () => {
    const l1 = client.lock('e3lock');
    await l1.acquire();
    await expect(client.lock('e3lock').ttl(5).acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
    await l1.release();
    const l2 = client.lock('e3lock');
    await l2.acquire();
    await l2.release();
  });

  it('elects a leader and hands over on resign', async () => {
    const election = client.election('e3elect');
    const c1 = election.campaign('one');
    await new Promise<void>((resolve, reject) => {
      c1.on('elected', resolve);
      c1.on('error', reject);
    });
    expect(await election.leader()).toBe('one');
    const c2 = election.campaign('two');
    let elected2 = false;
    c2.on('elected', () => (elected2 = true));
    await c1.resign();
    await waitFor('the second campaign elected', () => elected2, 15_000);
    expect(await election.leader()).toBe('two');
    await c2.resign();
  });

  it('manages users and roles', async () => {
    const role = await client.role('e3role').create();
    await role.grant({ permission: 'Read', range: client.range({ prefix: 'pub/' }) });
    const user = await client.user('e3user').create('pw');
    await user.addRole('e3role');
    expect((await user.roles()).map((r) => r.name)).toEqual(['e3role']);
    expect((await client.getRoles()).map((r) => r.name)).toContain('e3role');
    const perms = await role.permissions();
    expect(perms[0]?.permission).toBe('Read');
    await user.delete();
    await role.delete();
  });
});

describe("etcd's Lock and Election services (v3lock, v3election)", () => {
  it('locks on a lease: a second Lock waits until the first is unlocked', async () => {
    const l1 = await raw('Lease', 'LeaseGrant', { TTL: '30' });
    const l2 = await raw('Lease', 'LeaseGrant', { TTL: '30' });
    const first = await raw('Lock', 'Lock', { name: Buffer.from('svc-lock'), lease: l1.ID });
    expect(Buffer.from(first.key).toString()).toBe(`svc-lock/${BigInt(l1.ID).toString(16)}`);
    let second: { key: Buffer } | undefined;
    const waiting = raw('Lock', 'Lock', { name: Buffer.from('svc-lock'), lease: l2.ID }).then((r) => (second = r));
    await new Promise((r) => setTimeout(r, 500));
    expect(second).toBeUndefined();
    await raw('Lock', 'Unlock', { key: first.key });
    await waiting;
    expect(Buffer.from(second!.key).toString()).toBe(`svc-lock/${BigInt(l2.ID).toString(16)}`);
    await raw('Lock', 'Unlock', { key: second!.key });
  });

  it('campaigns, proclaims, reports the leader, and resigns', async () => {
    const l = await raw('Lease', 'LeaseGrant', { TTL: '30' });
    const c = await raw('Election', 'Campaign', { name: Buffer.from('svc-elect'), lease: l.ID, value: Buffer.from('a') });
    expect(Buffer.from(c.leader.name).toString()).toBe('svc-elect');
    expect(Buffer.from((await raw('Election', 'Leader', { name: Buffer.from('svc-elect') })).kv.value).toString()).toBe('a');
    await raw('Election', 'Proclaim', { leader: c.leader, value: Buffer.from('b') });
    expect(Buffer.from((await raw('Election', 'Leader', { name: Buffer.from('svc-elect') })).kv.value).toString()).toBe('b');
    await raw('Election', 'Resign', { leader: c.leader });
    await expect(raw('Election', 'Leader', { name: Buffer.from('svc-elect') })).rejects.toMatchObject({ details: 'etcdserver: election: no leader' });
    await expect(raw('Election', 'Proclaim', { leader: c.leader, value: Buffer.from('c') })).rejects.toMatchObject({ details: 'etcdserver: election: not leader' });
  });
});

describe('etcd protocol edge cases over raw gRPC', () => {
  it('a watch from a compacted revision gets compact_revision', async () => {
    await raw('KV', 'Put', { key: Buffer.from('edge/c'), value: Buffer.from('1') });
    const put = await raw('KV', 'Put', { key: Buffer.from('edge/c'), value: Buffer.from('2') });
    await raw('KV', 'Compact', { revision: put.header.revision, physical: true });
    const stub = new pb.Watch(endpoint, grpc.credentials.createInsecure());
    const call = stub.Watch();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const got: any[] = [];
    call.on('data', (r: unknown) => got.push(r));
    call.on('error', () => undefined);
    call.write({ create_request: { key: Buffer.from('edge/c'), start_revision: '1' } });
    await waitFor('the canceled response', () => got.some((r) => r.canceled), 10_000);
    const c = got.find((r) => r.canceled);
    expect(c.compact_revision).toBe(put.header.revision);
    expect(c.cancel_reason).toContain('required revision has been compacted');
    call.end();
    stub.close();
    await expect(raw('KV', 'Range', { key: Buffer.from('edge/c'), revision: '1' })).rejects.toMatchObject({
      code: grpc.status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
  });

  it('keep-alive of an expired lease answers TTL 0; its other calls say lease not found', async () => {
    const g = await raw('Lease', 'LeaseGrant', { TTL: '1' });
    // TTL -1 comes as soon as the lease has run out; the revoke that the leader then proposes
    // may still be on its way, so wait until the lease is gone from the list.
    await waitFor(
      'the lease to expire and be revoked',
      async () => !(await raw('Lease', 'LeaseLeases', {})).leases.some((l: { ID: string }) => l.ID === g.ID),
      20_000,
      200,
    );
    expect((await raw('Lease', 'LeaseTimeToLive', { ID: g.ID })).TTL).toBe('-1');
    const stub = new pb.Lease(endpoint, grpc.credentials.createInsecure());
    const call = stub.LeaseKeepAlive();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let res: any;
    call.on('data', (r: unknown) => (res = r));
    call.on('error', () => undefined);
    call.write({ ID: g.ID });
    await waitFor('the keep-alive answer', () => res !== undefined, 10_000);
    expect(res).toMatchObject({ ID: g.ID, TTL: '0' });
    call.end();
    stub.close();
    await expect(raw('Lease', 'LeaseRevoke', { ID: g.ID })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
  });

  it('a too-large request gets etcd\'s "request is too large"', async () => {
    await expect(raw('KV', 'Put', { key: Buffer.from('edge/big'), value: Buffer.alloc(1_700_000) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: request is too large',
    });
  });

  it('a client that connects and stays idle before its first call is served', async () => {
    const stub = new pb.KV(endpoint, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => stub.waitForReady(Date.now() + 5000, (e: Error | undefined) => (e === undefined ? resolve() : reject(e))));
    // Idle for longer than the listener holds a connection for its first request: the idling
    // is what is tested, so this wait is on the clock, not on a condition.
    await new Promise((r) => setTimeout(r, FIRST_REQUEST_WAIT_MS + 500));
    const r = await new Promise<{ header: { revision: string } }>((resolve, reject) =>
      stub.Range({ key: Buffer.from('idle') }, (e: Error | null, res: { header: { revision: string } }) => (e !== null ? reject(e) : resolve(res))),
    );
    expect(BigInt(r.header.revision)).toBeGreaterThan(0n);
    stub.close();
  });

  it('headers carry cluster_id, member_id, revision and raft_term', async () => {
    const r = await raw('KV', 'Range', { key: Buffer.from('edge/none') });
    for (const f of ['cluster_id', 'member_id', 'revision', 'raft_term']) expect(BigInt(r.header[f])).toBeGreaterThan(0n);
  });

  it('malformed input on the gRPC port leaves the member healthy', async () => {
    const [host, port] = endpoint.split(':') as [string, string];
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    // Bounded: 60 connections of random frames after a valid preface, and 20 of random bytes.
    for (let i = 0; i < 80; i++) {
      const body = i < 60 ? Buffer.concat([preface, randomBytes(16 + (i * 37) % 2000)]) : randomBytes(1 + (i * 53) % 500);
      await new Promise<void>((resolve) => {
        const s = connect(Number(port), host, () => s.end(body));
        s.on('data', () => undefined);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(2000, () => s.destroy());
      });
    }
    // Bad protobuf inside well-formed gRPC calls.
    const bad = new grpc.Client(endpoint, grpc.credentials.createInsecure());
    for (let i = 0; i < 20; i++) {
      const err = await new Promise<Error | null>((resolve) =>
        bad.makeUnaryRequest(
          '/etcdserverpb.KV/Put',
          () => Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), randomBytes(i * 13)]),
          (b: Buffer) => b,
          {},
          (e: Error | null) => resolve(e),
        ),
      );
      expect(err).not.toBeNull();
    }
    bad.close();
    // Still serving both protocols.
    expect((await raw('KV', 'Put', { key: Buffer.from('edge/after'), value: Buffer.from('ok') })).header.revision).toBeDefined();
    const res = await fetch(`http://${endpoint}/health`);
    expect(await res.json()).toEqual({ health: 'true', reason: '' });
  });
});
