import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256Digest } from './sha256.js';

describe('Sha256Digest (the browser build checksum)', () => {
  it('matches node:crypto for lengths around the block and padding edges, fed in pieces', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4099]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      const d = new Sha256Digest();
      for (let i = 0; i < n; i += 37) d.update(bytes.subarray(i, i + 37));
      expect(d.digestHex(), `length ${n}`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});
