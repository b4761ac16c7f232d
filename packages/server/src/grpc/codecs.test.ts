import type { MethodDefinition } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { hotCodecs } from './codecs.js';
import * as c from './convert.js';
import { loadEtcdProtos } from './protos.js';

// protobuf.js (through proto-loader, as grpc-js used it for every message) is the reference:
// what the hand-written codecs write it must read back the same, and what it writes they must
// read as it does.
const def = loadEtcdProtos();
const method = (path: string): MethodDefinition<object, object> => {
  const [, service, name] = /^\/(.+)\/(.+)$/.exec(path)!;
  return (def[service!] as Record<string, MethodDefinition<object, object>>)[name!]!;
};
const codec = (path: string) => hotCodecs.get(path)!;

const b = (s: string): Buffer => Buffer.from(s);
const U64_MAX = 18446744073709551615n;
const header = {
  clusterId: U64_MAX,
  memberId: 2n ** 53n + 1n,
  revision: 9_007_199_254_740_993n,
  raftTerm: 4n,
};
const kv = (key: string, valueBytes: number, lease = 0n) => ({
  key: b(key),
  value: Buffer.alloc(valueBytes, 7),
  createRevision: 2n,
  modRevision: 3n,
  version: 1n,
  lease,
});

/** The response as protobuf.js decodes it, from the hand-written bytes and from its own. */
function roundTrips(path: string, m: c.Msg): void {
  const ref = method(path);
  const ours = ref.responseDeserialize(codec(path).encode!(m));
  expect(ours).toEqual(ref.responseDeserialize(ref.responseSerialize(m)));
}

describe('hand-written response encoders', () => {
  it('write a range response with 64-bit values at the edges and values past one length byte', () => {
    const m = c.rangeResponse({
      header,
      kvs: [kv('a', 0), kv('b', 200, -1n), kv('c', 70_000, 2n ** 62n)],
      more: true,
      count: 3,
    });
    roundTrips('/etcdserverpb.KV/Range', m);
    const back = method('/etcdserverpb.KV/Range').responseDeserialize(
      codec('/etcdserverpb.KV/Range').encode!(m),
    ) as c.Msg;
    expect(c.msg(back['header'])['cluster_id']).toBe('18446744073709551615');
    expect((back['kvs'] as c.Msg[])[1]!['lease']).toBe('-1');
  });

  it('write an empty range response and a put response with and without its previous value', () => {
    roundTrips(
      '/etcdserverpb.KV/Range',
      c.rangeResponse({
        header: { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n },
        kvs: [],
        more: false,
        count: 0,
      }),
    );
    roundTrips('/etcdserverpb.KV/Put', c.putResponse({ header }));
    roundTrips('/etcdserverpb.KV/Put', c.putResponse({ header, prevKv: kv('k', 3) }));
  });

  it('write a delete and a txn with each kind of inner response, nested', () => {
    roundTrips(
      '/etcdserverpb.KV/DeleteRange',
      c.deleteRangeResponse({ header, deleted: 2, prevKvs: [kv('a', 1), kv('b', 2)] }),
    );
    const inner = { header, succeeded: false, responses: [{ put: { header } }] };
    const m = c.txnResponse({
      header,
      succeeded: true,
      responses: [
        { range: { header, kvs: [kv('a', 1)], more: false, count: 1 } },
        { put: { header, prevKv: kv('a', 1) } },
        { deleteRange: { header, deleted: 1 } },
        { txn: inner },
      ],
    });
    roundTrips('/etcdserverpb.KV/Txn', m);
  });

  it('write watch responses: created, events of both types with previous values, canceled with a reason', () => {
    const path = '/etcdserverpb.Watch/Watch';
    roundTrips(path, c.watchResponse(0n, { header, created: true, events: [] }));
    roundTrips(
      path,
      c.watchResponse(7n, {
        header,
        events: [
          { type: 'put', kv: kv('a', 5) },
          { type: 'delete', kv: kv('a', 0), prevKv: kv('a', 5) },
        ],
      }),
    );
    roundTrips(
      path,
      c.watchResponse(3n, {
        header,
        canceled: true,
        compactRevision: 12n,
        cancelReason: 'mvcc: required revision has been compacted — gone',
        events: [],
        fragment: true,
      }),
    );
    roundTrips(path, {
      header: {},
      watch_id: '-1',
      created: false,
      canceled: true,
      cancel_reason: 'x',
      compact_revision: '0',
      fragment: false,
      events: [],
    });
  });
});

/** A request as protobuf.js decodes it and as the hand-written decoder does, from the same bytes. */
function decodesAlike(path: string, m: object): void {
  const ref = method(path);
  const bytes = ref.requestSerialize(m);
  expect(codec(path).decode!(bytes)).toEqual(ref.requestDeserialize(bytes));
}

describe('hand-written request decoders', () => {
  it('read range requests: empty, every field set, 64-bit values at the edges', () => {
    const path = '/etcdserverpb.KV/Range';
    decodesAlike(path, {});
    decodesAlike(path, {
      key: b('a'),
      range_end: b('z'),
      limit: '-1',
      revision: '9007199254740993',
      sort_order: 'DESCEND',
      sort_target: 'VALUE',
      serializable: true,
      keys_only: true,
      count_only: true,
      min_mod_revision: '1',
      max_mod_revision: '9223372036854775807',
      min_create_revision: '-9223372036854775808',
      max_create_revision: '4294967296',
    });
  });

  it('read put requests and skip fields it does not know', () => {
    const path = '/etcdserverpb.KV/Put';
    decodesAlike(path, {
      key: b('k'),
      value: Buffer.alloc(100_000, 1),
      lease: '7587869542838129923',
      prev_kv: true,
      ignore_value: true,
      ignore_lease: true,
    });
    const known = method(path).requestSerialize({ key: b('k') });
    // field 15, length-delimited, 3 bytes; then field 14, varint
    const unknown = Buffer.concat([known, Buffer.from([0x7a, 3, 1, 2, 3, 0x70, 0x96, 0x01])]);
    expect(codec(path).decode!(unknown)).toEqual(method(path).requestDeserialize(unknown));
  });

  it('read watch requests: create with packed filters, cancel, progress', () => {
    const path = '/etcdserverpb.Watch/Watch';
    decodesAlike(path, {
      create_request: {
        key: b('a'),
        range_end: b('b'),
        start_revision: '5',
        progress_notify: true,
        filters: ['NOPUT', 'NODELETE'],
        prev_kv: true,
        watch_id: '-1',
        fragment: true,
      },
    });
    decodesAlike(path, { create_request: {} });
    decodesAlike(path, { cancel_request: { watch_id: '3' } });
    decodesAlike(path, { progress_request: {} });
    decodesAlike(path, {});
  });

  it('refuse truncated messages with an error (grpc-js fails that call)', () => {
    const bytes = method('/etcdserverpb.KV/Put').requestSerialize({
      key: b('key'),
      value: b('value'),
    });
    expect(() =>
      codec('/etcdserverpb.KV/Put').decode!(bytes.subarray(0, bytes.length - 2)),
    ).toThrow(/past the end/);
    expect(() => codec('/etcdserverpb.KV/Range').decode!(Buffer.from([0x18, 0xff]))).toThrow(
      /truncated/,
    );
  });
});
