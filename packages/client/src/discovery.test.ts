import { describe, expect, it } from 'vitest';
import { CairnError } from '@cairn/protocol';
import { discoveryKeys, formatDiscoveryUrl, parseDiscoveryUrl } from './discovery.js';

describe('discovery layout', () => {
  it('keeps a token\u2019s size and members under one prefix', () => {
    const k = discoveryKeys('a81b5818e67a6ea8');
    expect(k.size).toBe('/_cairn/discovery/a81b5818e67a6ea8/_config/size');
    expect(k.members).toBe('/_cairn/discovery/a81b5818e67a6ea8/members/');
    expect(k.member('machine-1')).toBe('/_cairn/discovery/a81b5818e67a6ea8/members/machine-1');
  });

  it('formats and parses token URLs', () => {
    expect(formatDiscoveryUrl('127.0.0.1:2379', 'a81b5818e67a6ea8')).toBe('cairn://127.0.0.1:2379/discovery/a81b5818e67a6ea8');
    expect(formatDiscoveryUrl('http://10.0.0.5:2379', 'a81b5818e67a6ea8')).toBe('cairn://10.0.0.5:2379/discovery/a81b5818e67a6ea8');
    expect(formatDiscoveryUrl('http://db.example', '0000000000000001')).toBe('cairn://db.example:80/discovery/0000000000000001');
    expect(parseDiscoveryUrl('cairn://127.0.0.1:2379/discovery/A81B5818E67A6EA8')).toEqual({
      endpoints: ['127.0.0.1:2379'],
      token: 'a81b5818e67a6ea8',
    });
    // Several members of the discovery cluster, for when one of them is down.
    expect(parseDiscoveryUrl('cairn://10.0.0.1:2379,10.0.0.2:2379/discovery/a81b5818e67a6ea8/').endpoints).toEqual([
      '10.0.0.1:2379',
      '10.0.0.2:2379',
    ]);
  });

  it.each([
    ['http://127.0.0.1:2379/discovery/a81b5818e67a6ea8', 'not of the form'],
    ['cairn://127.0.0.1:2379/discovery/a81b', 'the token must be 16 hex digits'],
    ['cairn://127.0.0.1:2379/discovery/zz1b5818e67a6ea8', 'the token must be 16 hex digits'],
    ['cairn://127.0.0.1/discovery/a81b5818e67a6ea8', '"127.0.0.1" has no port'],
    ['cairn://127.0.0.1:2379/other/a81b5818e67a6ea8', 'not of the form'],
  ])('refuses %s', (url, why) => {
    let err: unknown;
    try {
      parseDiscoveryUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe('invalid_argument');
    expect((err as CairnError).message).toBe(
      `invalid discovery URL ${JSON.stringify(url)}: ${why} (expected cairn://HOST:PORT/discovery/TOKEN)`,
    );
  });
});
