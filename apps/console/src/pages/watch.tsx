// A live tail of a prefix: events newest first, pause (events keep arriving and are held),
// a filter on key and value, and a start revision to replay history from.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { bytesToString, type WatchEvent } from '@cairn/client';
import type { Session } from '../session.js';
import { preview, relativeTime } from '../format.js';
import { Empty, ErrorBox, Section, useNow } from '../ui.js';

/** Most events the tail keeps; older ones drop off the bottom. */
const MAX_EVENTS = 1000;

interface Row {
  readonly seq: number;
  readonly atMs: number;
  readonly revision: bigint;
  readonly type: string;
  readonly key: string;
  readonly value: string;
}

export function WatchPage({ session }: { readonly session: Session }): JSX.Element {
  const [prefix, setPrefix] = useState('');
  const [from, setFrom] = useState('');
  const [running, setRunning] = useState<{ prefix: string; from: bigint | undefined } | undefined>(undefined);
  const [rows, setRows] = useState<Row[]>([]);
  const [held, setHeld] = useState<Row[]>([]);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const now = useNow();

  useEffect(() => {
    if (running === undefined) return;
    let seq = 0;
    const w = session.client.watch(running.prefix, { prefix: true, ...(running.from !== undefined ? { startRevision: running.from } : {}) });
    setError(undefined);
    (async () => {
      for await (const batch of w) {
        const got: Row[] = batch.events.map((e: WatchEvent) => ({
          seq: seq++,
          atMs: Date.now(),
          revision: e.kv.modRevision,
          type: e.type,
          key: bytesToString(e.kv.key),
          value: e.type === 'delete' ? '' : preview(e.kv.value),
        }));
        if (got.length === 0) continue;
        const add = (list: Row[]): Row[] => [...got.reverse(), ...list].slice(0, MAX_EVENTS);
        if (pausedRef.current) setHeld(add);
        else setRows(add);
      }
    })().catch(setError);
    return () => w.cancel();
  }, [running]);

  const start = (ev: Event): void => {
    ev.preventDefault();
    setRows([]);
    setHeld([]);
    setRunning({ prefix, from: from.trim() === '' ? undefined : BigInt(from.trim()) });
  };
  const resume = (): void => {
    setRows((r) => [...held, ...r].slice(0, MAX_EVENTS));
    setHeld([]);
    setPaused(false);
  };
  const shown = filter === '' ? rows : rows.filter((r) => r.key.includes(filter) || r.value.includes(filter));
  return (
    <Section title="Watch">
      <form class="inline" onSubmit={start} data-testid="watch-form">
        <input placeholder="prefix (empty: every key)" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} data-testid="watch-prefix" />
        <input placeholder="from revision (optional)" value={from} onInput={(e) => setFrom(e.currentTarget.value.replace(/[^0-9]/g, ''))} data-testid="watch-from" />
        <button type="submit">{running === undefined ? 'Start' : 'Restart'}</button>
        {running !== undefined &&
          (paused ? (
            <button type="button" onClick={resume} data-testid="resume">
              Resume ({held.length} held)
            </button>
          ) : (
            <button type="button" onClick={() => setPaused(true)} data-testid="pause">
              Pause
            </button>
          ))}
        <input placeholder="filter key or value" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} data-testid="watch-filter" />
      </form>
      <ErrorBox error={error} title="Watch ended" />
      {running === undefined ? (
        <Empty>Choose a prefix and press Start to follow its changes live.</Empty>
      ) : shown.length === 0 ? (
        <Empty>
          Watching {running.prefix === '' ? 'every key' : running.prefix}
          {running.from !== undefined ? ` from revision ${running.from}` : ''}: no events yet{filter !== '' ? ' matching the filter' : ''}.
        </Empty>
      ) : (
        <table class="table" data-testid="events">
          <thead>
            <tr>
              <th>When</th>
              <th class="num">Revision</th>
              <th>Event</th>
              <th>Key</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.seq} class={r.type}>
                <td>{relativeTime(r.atMs, now)}</td>
                <td class="num">{String(r.revision)}</td>
                <td>{r.type}</td>
                <td>
                  <a href={`#/keys?key=${encodeURIComponent(r.key)}`}>{r.key}</a>
                </td>
                <td>{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
