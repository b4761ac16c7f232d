/**
 * glibc's malloc raises its mmap threshold each time a large block is freed, so after a while
 * the member's 64 KiB-class buffers (values, replies, RocksDB's own blocks) all come from the
 * heap, and the heap fragments: under large-value writes RSS sits about 110 MB higher than with
 * the threshold fixed at 64 KiB (which costs some write throughput for values that large;
 * docs/operations.md#memory). The tunable is read by the dynamic loader before Node starts, so
 * the daemon cannot set it for itself; the service files in deploy/ set it, and a member
 * started without it says so once.
 */

/** The setting the deploy files use (docs/operations.md, "Memory"). */
export const RECOMMENDED_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=65536';

/**
 * The start-up note for a member on glibc whose allocator is left at its defaults; undefined
 * when the threshold is set, another allocator is preloaded, or the C library is not glibc.
 */
export function allocatorNote(env: NodeJS.ProcessEnv, glibcVersion: string | undefined): string | undefined {
  if (glibcVersion === undefined) return undefined;
  if ((env['GLIBC_TUNABLES'] ?? '').includes('glibc.malloc.mmap_threshold=')) return undefined;
  if (/jemalloc|tcmalloc|mimalloc/.test(env['LD_PRELOAD'] ?? '')) return undefined;
  return `memory: glibc malloc runs with its default mmap threshold, which lets the heap fragment under large values; start the member with GLIBC_TUNABLES=${RECOMMENDED_GLIBC_TUNABLES} (as deploy/ does) to keep its RSS about 110 MB lower under large values (docs/operations.md#memory)`;
}

/** glibc's version, from Node's diagnostic report; undefined on other C libraries. */
export function glibcVersion(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}
