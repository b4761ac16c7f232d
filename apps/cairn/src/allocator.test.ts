import { describe, expect, it } from 'vitest';
import { allocatorNote, RECOMMENDED_GLIBC_TUNABLES } from './allocator.js';

describe('allocatorNote', () => {
  it('names the tunable to set when glibc runs with its defaults', () => {
    expect(allocatorNote({}, '2.36')).toContain(`GLIBC_TUNABLES=${RECOMMENDED_GLIBC_TUNABLES}`);
  });

  it('says nothing once the threshold is set, another allocator is preloaded, or the C library is not glibc', () => {
    expect(allocatorNote({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072' }, '2.36')).toBeUndefined();
    expect(allocatorNote({ LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' }, '2.36')).toBeUndefined();
    expect(allocatorNote({}, undefined)).toBeUndefined();
  });

  it('still speaks when GLIBC_TUNABLES sets other tunables only', () => {
    expect(allocatorNote({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, '2.36')).toBeDefined();
  });
});
