import type { LineReader } from './txnScript.js';

/** Standard input as cairnctl uses it: all at once (a put value), or line by line (a txn script). */
export interface Input {
  readAll(): Promise<Uint8Array>;
  lines(): LineReader & { close(): void };
}

/** Input over any source of chunks (process.stdin, or a string in tests). */
export function inputFrom(source: AsyncIterable<Uint8Array | string>): Input {
  const encoder = new TextEncoder();
  const asBytes = (c: Uint8Array | string): Uint8Array => (typeof c === 'string' ? encoder.encode(c) : c);
  return {
    async readAll() {
      const parts: Uint8Array[] = [];
      for await (const chunk of source) parts.push(asBytes(chunk));
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
    lines() {
      const it = source[Symbol.asyncIterator]();
      const decoder = new TextDecoder();
      let buffered = '';
      let ended = false;
      return {
        async readLine() {
          for (;;) {
            const nl = buffered.indexOf('\n');
            if (nl >= 0) {
              const line = buffered.slice(0, nl).replace(/\r$/, '');
              buffered = buffered.slice(nl + 1);
              return line;
            }
            if (ended) {
              if (buffered === '') return undefined;
              const last = buffered;
              buffered = '';
              return last;
            }
            const next = await it.next();
            if (next.done === true) {
              ended = true;
              buffered += decoder.decode();
            } else {
              buffered += typeof next.value === 'string' ? next.value : decoder.decode(next.value, { stream: true });
            }
          }
        },
        close() {
          if (!ended) void it.return?.();
          ended = true;
        },
      };
    },
  };
}
