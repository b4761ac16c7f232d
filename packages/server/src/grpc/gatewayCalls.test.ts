import { describe, expect, it } from 'vitest';
import { JsonObjects } from './gatewayCalls.js';

describe('JsonObjects', () => {
  it('splits concatenated JSON objects fed in arbitrary pieces, braces in strings included', () => {
    const got: unknown[] = [];
    const j = new JsonObjects((t) => got.push(JSON.parse(t)));
    const text = '{"a":1} {"b":"}{\\""}\n{"c":{"d":[1,{"e":2}]}}';
    for (const ch of text) j.feed(ch);
    expect(got).toEqual([{ a: 1 }, { b: '}{"' }, { c: { d: [1, { e: 2 }] } }]);
  });

  it('keeps an unfinished object until the rest comes', () => {
    const got: string[] = [];
    const j = new JsonObjects((t) => got.push(t));
    j.feed('{"create_request":{"key":');
    expect(got).toEqual([]);
    j.feed('"Zm9v"}}{"progress_request":{}}');
    expect(got).toEqual(['{"create_request":{"key":"Zm9v"}}', '{"progress_request":{}}']);
  });
});
