import { describe, expect, it } from 'vitest';
import { base64, omitEmpty, writeJson } from './json.js';
import { endpointStatusJson, kvJson, rangeJson } from './jsonPrinter.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('writeJson', () => {
  it('writes 64-bit integers exactly, never through a double', () => {
    expect(writeJson({ a: 18446744073709551615n, b: 9007199254740993n })).toBe('{"a":18446744073709551615,"b":9007199254740993}');
    // The same numbers through JSON.stringify of a Number would be rounded.
    expect(String(Number(9007199254740993n))).toBe('9007199254740992');
  });

  it('leaves out undefined fields and keeps field order', () => {
    expect(writeJson({ z: 1, a: undefined, m: [true, null, 'x'] })).toBe('{"z":1,"m":[true,null,"x"]}');
  });

  it('escapes like Go: <, >, & and line separators', () => {
    expect(writeJson('a<b>&c\u2028"\\\n')).toBe('"a\\u003cb\\u003e\\u0026c\\u2028\\"\\\\\\n"');
  });

  it('omitEmpty drops Go zero values only', () => {
    expect([0, 0n, false, '', [], null].map(omitEmpty)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect([1, 1n, true, 'x', [0]].map(omitEmpty)).toEqual([1, 1n, true, 'x', [0]]);
  });

  it('base64 is standard with padding, like Go []byte', () => {
    expect(base64(enc('foo'))).toBe('Zm9v');
    expect(base64(enc('new.address@johndoe.com'))).toBe('bmV3LmFkZHJlc3NAam9obmRvZS5jb20=');
    expect(base64(new Uint8Array([0xff, 0xfe]))).toBe('//4=');
    expect(base64(enc('abcdef').subarray(1, 3))).toBe('YmM=');
  });
});

describe('etcd JSON shapes', () => {
  it('omits a zero lease, an empty value and false/zero fields', () => {
    const kv = { key: enc('k'), createRevision: 2n, modRevision: 3n, version: 2n, value: new Uint8Array(), lease: 0n };
    expect(writeJson(kvJson(kv))).toBe('{"key":"aw==","create_revision":2,"mod_revision":3,"version":2}');
    expect(writeJson(kvJson({ ...kv, lease: 0x2be7547fbc6a5afan }))).toBe(
      '{"key":"aw==","create_revision":2,"mod_revision":3,"version":2,"lease":3163590170849729274}',
    );
    const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };
    expect(writeJson(rangeJson({ header, kvs: [], more: false, count: 0 }))).toBe(
      '{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":4}}',
    );
    expect(writeJson(rangeJson({ header, kvs: [], more: true, count: 7 }))).toBe(
      '{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":4},"more":true,"count":7}',
    );
  });

  it('writes endpoint status as a list of {Endpoint, Status}', () => {
    const status = {
      header: { clusterId: 4743318255719025844n, memberId: 10057029971166822686n, revision: 10n, raftTerm: 2n },
      version: '0.1.0',
      dbSize: 20480n,
      dbSizeInUse: 0n,
      leader: 10057029971166822686n,
      raftIndex: 10n,
      raftTerm: 2n,
      raftAppliedIndex: 10n,
      errors: [],
      isLearner: false,
    };
    expect(writeJson(endpointStatusJson([{ endpoint: '127.0.0.1:2379', status }]))).toBe(
      '[{"Endpoint":"127.0.0.1:2379","Status":{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,' +
        '"revision":10,"raft_term":2},"version":"0.1.0","dbSize":20480,"leader":10057029971166822686,"raftIndex":10,' +
        '"raftTerm":2,"raftAppliedIndex":10}}]',
    );
  });
});
