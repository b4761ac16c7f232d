// Shared pieces of every page: a sortable table, error and empty states, a ticking clock.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { toCairnError } from '@cairn/client';

export interface Column<Row> {
  readonly label: string;
  /** What the column sorts by. */
  readonly sort: (row: Row) => string | number | bigint;
  readonly render?: (row: Row) => ComponentChildren;
  readonly numeric?: boolean;
}

/** A table whose headers sort it (click again to reverse); `empty` when there are no rows. */
export function Table<Row>(props: {
  readonly rows: readonly Row[];
  readonly columns: readonly Column<Row>[];
  readonly rowKey: (row: Row) => string;
  readonly empty: string;
  readonly testId?: string;
  readonly rowClass?: (row: Row) => string;
}): JSX.Element {
  const [by, setBy] = useState(0);
  const [desc, setDesc] = useState(false);
  if (props.rows.length === 0) return <Empty>{props.empty}</Empty>;
  const col = props.columns[by] ?? props.columns[0]!;
  const rows = [...props.rows].sort((x, y) => {
    const a = col.sort(x);
    const b = col.sort(y);
    const c = a < b ? -1 : a > b ? 1 : 0;
    return desc ? -c : c;
  });
  return (
    <table class="table" data-testid={props.testId}>
      <thead>
        <tr>
          {props.columns.map((c, i) => (
            <th
              key={c.label}
              class={c.numeric === true ? 'num' : ''}
              aria-sort={i === by ? (desc ? 'descending' : 'ascending') : 'none'}
              onClick={() => {
                if (i === by) setDesc(!desc);
                else {
                  setBy(i);
                  setDesc(false);
                }
              }}
            >
              {c.label}
              {i === by ? (desc ? ' ▾' : ' ▴') : ''}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={props.rowKey(r)} class={props.rowClass?.(r) ?? ''}>
            {props.columns.map((c) => (
              <td key={c.label} class={c.numeric === true ? 'num' : ''}>
                {c.render !== undefined ? c.render(r) : String(c.sort(r))}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Empty(props: { readonly children: ComponentChildren }): JSX.Element {
  return <p class="empty">{props.children}</p>;
}

/** An error as the user should read it: the Cairn code and the message. */
export function ErrorBox(props: { readonly error: unknown; readonly title?: string }): JSX.Element | null {
  if (props.error === undefined || props.error === null) return null;
  const e = toCairnError(props.error);
  return (
    <div class="error" role="alert">
      <strong>{props.title ?? 'Error'}</strong> <code>{e.code}</code>: {e.message}
    </div>
  );
}

/** The current time in ms, re-rendering every `everyMs`. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** Runs `load` now and every `everyMs` (0: once) while mounted; returns its last result or error. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: readonly unknown[] = []): { data: T | undefined; error: unknown; at: number; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; at: number }>({ data: undefined, error: undefined, at: 0 });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (): void => {
      load().then(
        (data) => live && setState({ data, error: undefined, at: Date.now() }),
        (error: unknown) => live && setState((s) => ({ data: s.data, error, at: s.at })),
      ).finally(() => {
        if (live && everyMs > 0) timer = setTimeout(run, everyMs);
      });
    };
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Section(props: { readonly title: string; readonly children: ComponentChildren; readonly actions?: ComponentChildren }): JSX.Element {
  return (
    <section class="card">
      <header>
        <h2>{props.title}</h2>
        <div class="actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}
