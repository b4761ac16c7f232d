import { describe, expect, it } from 'vitest';
import { applyConfChangeToState, decodeConfChange, encodeConfChange } from './confChange.js';
import type { ConfState } from '../types.js';

describe('conf changes', () => {
  it('round-trip through the entry encoding, including 64-bit ids', () => {
    const cc = { type: 'addLearnerNode', nodeId: 0xfedcba9876543210n, context: new Uint8Array([1, 2]) } as const;
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });
  it('apply one server at a time; addNode promotes a learner; the last voter stays', () => {
    const none = new Uint8Array(0);
    let cs: ConfState = { voters: [1n], learners: [] };
    cs = applyConfChangeToState(cs, { type: 'addLearnerNode', nodeId: 3n, context: none });
    expect(cs).toEqual({ voters: [1n], learners: [3n] });
    cs = applyConfChangeToState(cs, { type: 'addNode', nodeId: 3n, context: none });
    expect(cs).toEqual({ voters: [1n, 3n], learners: [] });
    cs = applyConfChangeToState(cs, { type: 'removeNode', nodeId: 1n, context: none });
    expect(cs).toEqual({ voters: [3n], learners: [] });
    expect(applyConfChangeToState(cs, { type: 'removeNode', nodeId: 3n, context: none })).toEqual(cs);
  });
});
