// One key: its value as text, JSON or hex; its revision history with a diff; edit and delete
// guarded by the revision shown (keyEdit.ts), so a concurrent change is reported, not lost.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { KeyValue } from '@cairn/client';
import type { Session } from '../session.js';
import { asJson, asText, formatBytes, hexDump, hexId, lineDiff } from '../format.js';
import { Empty, ErrorBox, Section } from '../ui.js';
import { guardedDelete, guardedPut, history, type PastVersion } from './keyEdit.js';

type Mode = 'text' | 'json' | 'hex';

function render(bytes: Uint8Array, mode: Mode): string {
  if (mode === 'hex') return hexDump(bytes);
  if (mode === 'json') return asJson(bytes) ?? '(not JSON)';
  return asText(bytes) ?? '(not UTF-8 text: see hex)';
}

function History(props: { readonly session: Session; readonly kv: KeyValue }): JSX.Element {
  const [data, setData] = useState<{ versions: PastVersion[]; compacted: boolean } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [from, setFrom] = useState(1);
  useEffect(() => {
    history(props.session.client, props.kv).then(setData, setError);
  }, [props.kv.modRevision]);
  if (error !== undefined) return <ErrorBox error={error} title="Cannot read history" />;
  if (data === undefined) return <p class="hint">Reading history…</p>;
  const versions = data.versions;
  const older = versions[Math.min(from, versions.length - 1)]!;
  const newest = versions[0]!;
  const diff = lineDiff(asText(older.value) ?? hexDump(older.value), asText(newest.value) ?? hexDump(newest.value));
  return (
    <div data-testid="history">
      <p class="hint">
        {versions.length} versions shown{data.compacted ? '; older ones were compacted away' : ''}.
      </p>
      <ol class="versions">
        {versions.map((v, i) => (
          <li key={String(v.modRevision)}>
            <label>
              <input type="radio" name="from" checked={i === from} disabled={i === 0} onChange={() => setFrom(i)} /> revision {String(v.modRevision)} (version {String(v.version)}, {formatBytes(v.value.length)})
            </label>
          </li>
        ))}
      </ol>
      {versions.length > 1 ? (
        <>
          <p class="hint">
            Diff from revision {String(older.modRevision)} to {String(newest.modRevision)}:
          </p>
          <pre class="diff" data-testid="diff">
            {diff.map((d, i) => (
              <div key={i} class={d.op === '+' ? 'add' : d.op === '-' ? 'del' : ''}>
                {d.op} {d.text}
              </div>
            ))}
          </pre>
        </>
      ) : (
        <Empty>Only one version: nothing to compare.</Empty>
      )}
    </div>
  );
}

export function KeyView(props: { readonly session: Session; readonly keyName: string; readonly onChanged: () => void }): JSX.Element {
  const { client } = props.session;
  const [kv, setKv] = useState<KeyValue | undefined | 'missing'>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [mode, setMode] = useState<Mode>('text');
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [conflict, setConflict] = useState<{ current: KeyValue | undefined; shown: bigint } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const load = (): void => {
    client.kv.get(props.keyName).then((v) => {
      setKv(v ?? 'missing');
      setDraft(undefined);
    }, setError);
  };
  useEffect(load, [props.keyName]);
  if (error !== undefined) return <ErrorBox error={error} title={`Cannot read ${props.keyName}`} />;
  if (kv === undefined) return <p class="hint">Reading {props.keyName}…</p>;
  if (kv === 'missing') return <Empty>{props.keyName} does not exist (any more).</Empty>;
  const shown = kv.modRevision;
  const refused = (current: KeyValue | undefined): void => setConflict({ current, shown });
  const save = (): void => {
    setNotice(undefined);
    guardedPut(client, props.keyName, new TextEncoder().encode(draft ?? ''), shown).then((r) => {
      if (!r.ok) return refused(r.current);
      setConflict(undefined);
      setNotice(`saved at revision ${r.revision}`);
      props.onChanged();
      load();
    }, setError);
  };
  const remove = (): void => {
    if (!confirm(`Delete ${props.keyName} (revision ${shown})?`)) return;
    guardedDelete(client, props.keyName, shown).then((r) => {
      if (!r.ok) return refused(r.current);
      props.onChanged();
      setKv('missing');
    }, setError);
  };
  const text = asText(kv.value);
  return (
    <Section
      title={props.keyName}
      actions={
        <>
          <button onClick={load}>Reload</button> <button class="danger" onClick={remove}>Delete</button>
        </>
      }
    >
      <dl class="meta" data-testid="meta">
        <dt>Revision</dt>
        <dd data-testid="mod-revision">{String(kv.modRevision)}</dd>
        <dt>Created at</dt>
        <dd>{String(kv.createRevision)}</dd>
        <dt>Version</dt>
        <dd>{String(kv.version)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(kv.value.length)}</dd>
        <dt>Lease</dt>
        <dd>{kv.lease === 0n ? 'none' : <a href={`#/leases?id=${hexId(kv.lease)}`}>{hexId(kv.lease)}</a>}</dd>
      </dl>
      {conflict !== undefined && (
        <div class="error" role="alert" data-testid="conflict">
          <strong>Not saved: the key changed since you opened it.</strong> You were editing revision {String(conflict.shown)};{' '}
          {conflict.current === undefined ? 'it has been deleted.' : `it is now at revision ${conflict.current.modRevision} with value “${asText(conflict.current.value) ?? '(binary)'}”.`} Reload to see the
          current value, then edit again.
        </div>
      )}
      {notice !== undefined && <p class="notice" data-testid="saved">{notice}</p>}
      <div class="tabs">
        {(['text', 'json', 'hex'] as const).map((m) => (
          <button key={m} class={m === mode ? 'active' : ''} onClick={() => setMode(m)}>
            {m === 'json' ? 'JSON' : m}
          </button>
        ))}
        {draft === undefined && text !== undefined && <button onClick={() => setDraft(text)}>Edit</button>}
      </div>
      {draft === undefined ? (
        <pre class="value" data-testid="value">{render(kv.value, mode)}</pre>
      ) : (
        <div class="editor">
          <textarea data-testid="editor" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} rows={10} />
          <button onClick={save}>Save (if still at revision {String(shown)})</button> <button onClick={() => setDraft(undefined)}>Cancel</button>
        </div>
      )}
      <h3>History</h3>
      <History session={props.session} kv={kv} />
    </Section>
  );
}
