// Keys: a prefix tree with counts on the left, the selected key on the right (keyView.tsx).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { bytesToString } from '@cairn/client';
import type { Session } from '../session.js';
import { keyTree, type TreeNode } from '../format.js';
import { Empty, ErrorBox, usePoll } from '../ui.js';
import { deletePrefix, guardedPut } from './keyEdit.js';
import { KeyView } from './keyView.js';

/** Most keys the tree lists at once (keys only, no values); past it the tree says so. */
const MAX_TREE_KEYS = 5000;

function Tree(props: { readonly node: TreeNode; readonly open: Set<string>; readonly toggle: (p: string) => void; readonly select: (k: string) => void; readonly selected: string | undefined; readonly onDeletePrefix: (p: string, n: number) => void }): JSX.Element {
  const children = [...props.node.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return (
    <ul class="tree">
      {children.map((c) => {
        const folder = c.children.size > 0;
        return (
          <li key={c.path}>
            <div class={`node${props.selected === c.path ? ' selected' : ''}`}>
              {folder ? (
                <button class="link twisty" onClick={() => props.toggle(c.path)} aria-expanded={props.open.has(c.path)}>
                  {props.open.has(c.path) ? '▾' : '▸'} {c.name} <span class="count">{c.count}</span>
                </button>
              ) : (
                <button class="link leaf" data-key={c.path} onClick={() => props.select(c.path)}>
                  {c.name}
                </button>
              )}
              {folder && c.isKey && (
                <button class="link leaf" data-key={c.path} onClick={() => props.select(c.path)} title="this prefix is also a key">
                  (key)
                </button>
              )}
              {folder && (
                <button class="link danger small" onClick={() => props.onDeletePrefix(c.path, c.count)} title={`delete every key under ${c.path}`}>
                  delete…
                </button>
              )}
            </div>
            {folder && props.open.has(c.path) && <Tree {...props} node={c} />}
          </li>
        );
      })}
    </ul>
  );
}

function NewKey(props: { readonly session: Session; readonly done: (key: string) => void }): JSX.Element {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const create = (ev: Event): void => {
    ev.preventDefault();
    guardedPut(props.session.client, key, new TextEncoder().encode(value), 0n).then(
      (r) => (r.ok ? props.done(key) : setError(new Error(`${key} already exists (revision ${r.current?.modRevision ?? '?'}); open it to edit`))),
      setError,
    );
  };
  return (
    <form class="inline" onSubmit={create} data-testid="new-key">
      <input placeholder="new key" value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
      <input placeholder="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <button type="submit">Create</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function KeysPage({ session }: { readonly session: Session }): JSX.Element {
  const initial = new URLSearchParams(location.hash.split('?')[1] ?? '').get('key') ?? undefined;
  const [prefix, setPrefix] = useState('');
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<string | undefined>(initial);
  const [confirm, setConfirm] = useState<{ prefix: string; count: number } | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const keys = usePoll(
    async () => {
      const res = await session.client.kv.range({ key: prefix, prefix: true, keysOnly: true, limit: MAX_TREE_KEYS });
      return { keys: res.kvs.map((kv) => bytesToString(kv.key)), count: res.count, more: res.more, revision: res.header.revision };
    },
    5000,
    [prefix],
  );
  const tree = keyTree(keys.data?.keys ?? [], prefix);
  const toggle = (p: string): void => {
    const next = new Set(open);
    if (next.has(p)) next.delete(p);
    else next.add(p);
    setOpen(next);
  };
  const doDelete = (): void => {
    if (confirm === undefined) return;
    const c = confirm;
    setConfirm(undefined);
    deletePrefix(session.client, c.prefix).then((n) => {
      setNotice(`deleted ${n} keys under ${c.prefix}`);
      keys.reload();
    }, setActionError);
  };
  return (
    <div class="keys">
      <aside class="card">
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          <input placeholder="prefix filter, e.g. /services/" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} data-testid="prefix" />
          <button type="button" onClick={keys.reload}>Refresh</button>
        </form>
        <ErrorBox error={keys.error} title="Cannot list keys" />
        {keys.data !== undefined && (
          <p class="hint" data-testid="key-count">
            {keys.data.count} keys{prefix !== '' ? ` under ${prefix}` : ''} at revision {String(keys.data.revision)}
            {keys.data.more ? ` (tree shows the first ${MAX_TREE_KEYS})` : ''}
          </p>
        )}
        {keys.data !== undefined && keys.data.keys.length === 0 ? <Empty>No keys{prefix !== '' ? ` under ${prefix}` : ''} yet.</Empty> : <Tree node={tree} open={open} toggle={toggle} select={setSelected} selected={selected} onDeletePrefix={(p, count) => setConfirm({ prefix: p, count })} />}
        {prefix !== '' && (tree.count > 0) && (
          <button class="danger" onClick={() => setConfirm({ prefix, count: tree.count })}>
            Delete all {tree.count} keys under {prefix}…
          </button>
        )}
        <h3>New key</h3>
        <NewKey session={session} done={(k) => { setSelected(k); keys.reload(); }} />
      </aside>
      <div class="detail">
        {confirm !== undefined && (
          <div class="confirm card" role="dialog" data-testid="confirm">
            <p>
              Delete <strong>{confirm.count}</strong> keys under <code>{confirm.prefix}</code>? This cannot be undone.
            </p>
            <button class="danger" onClick={doDelete}>Delete {confirm.count} keys</button> <button onClick={() => setConfirm(undefined)}>Cancel</button>
          </div>
        )}
        {notice !== undefined && <p class="notice">{notice}</p>}
        <ErrorBox error={actionError} />
        {selected !== undefined ? <KeyView key={selected} session={session} keyName={selected} onChanged={keys.reload} /> : <Empty>Choose a key in the tree to see its value and history.</Empty>}
      </div>
    </div>
  );
}
