import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCode, type KeyValue } from '@cairn/client';
import { mergeForSet } from './set.js';

const schema = z.object({ greeting: z.string().min(1), limits: z.object({ rps: z.number().int().positive() }), debug: z.boolean().default(false) });
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const kv = (field: string, value: string): KeyValue => ({ key: enc(`p/${field}`), value: enc(value), createRevision: 1n, modRevision: 1n, version: 1n, lease: 0n });
const stored = (o: Record<string, string>): Map<string, KeyValue> => new Map(Object.entries(o).map(([f, v]) => [f, kv(f, v)]));

describe('mergeForSet', () => {
  it('a valid field is set while another field holds a value that fails the schema (its accepted value stands in)', () => {
    const s = stored({ greeting: '"hi"', limits: '{"rps":-1}' });
    expect(mergeForSet('p/', schema, s, new Map([['greeting', 'yo']]), new Map<string, unknown>([['limits', { rps: 5 }]]))).toEqual({
      greeting: 'yo',
      limits: { rps: 5 },
      debug: false,
    });
  });

  it('... or is not JSON', () => {
    const s = stored({ greeting: 'not json', limits: '{"rps":1}' });
    expect(mergeForSet('p/', schema, s, new Map([['debug', true]]), new Map<string, unknown>([['greeting', 'hello']]))).toMatchObject({ greeting: 'hello', debug: true });
  });

  it('refuses a bad value of a field being set, and a broken field with no accepted value to stand in', () => {
    const s = stored({ greeting: '"hi"', limits: '{"rps":1}' });
    expect(() => mergeForSet('p/', schema, s, new Map([['greeting', '']]), new Map())).toThrow(expect.objectContaining({ code: ErrorCode.InvalidConfig }));
    const broken = stored({ greeting: '"hi"', limits: '{"rps":-1}' });
    expect(() => mergeForSet('p/', schema, broken, new Map([['greeting', 'yo']]), new Map())).toThrow(expect.objectContaining({ code: ErrorCode.InvalidConfig, message: expect.stringMatching(/limits/) }));
  });

  it('setting the broken field itself to a good value fixes it', () => {
    const s = stored({ greeting: '"hi"', limits: '{"rps":-1}' });
    expect(mergeForSet('p/', schema, s, new Map<string, unknown>([['limits', { rps: 3 }]]), new Map())).toMatchObject({ limits: { rps: 3 } });
  });
});
