// Configuration: the config package's layout (docs/config.md): under a prefix, each namespace
// (config/prod/) holds one JSON key per field. Shows current values, a field's history, and
// rolls a field back to a past value (guarded by the revision shown).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { bytesToString, type KeyValue } from '@cairn/client';
import type { Session } from '../session.js';
import { asJson, preview } from '../format.js';
import { Empty, ErrorBox, Section, usePoll } from '../ui.js';
import { guardedPut, history, type PastVersion } from './keyEdit.js';

function FieldHistory(props: { readonly session: Session; readonly kv: KeyValue; readonly done: () => void }): JSX.Element {
  const [error, setError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const h = usePoll(() => history(props.session.client, props.kv), 0, [props.kv.modRevision]);
  const rollback = (v: PastVersion): void => {
    guardedPut(props.session.client, bytesToString(props.kv.key), v.value, props.kv.modRevision).then((r) => {
      if (r.ok) {
        setNotice(`rolled back to the value of revision ${v.modRevision} (now revision ${r.revision})`);
        props.done();
      } else setError(new Error(`not rolled back: the field changed since revision ${props.kv.modRevision}; reload`));
    }, setError);
  };
  return (
    <div class="history">
      <ErrorBox error={h.error ?? error} />
      {notice !== undefined && <p class="notice">{notice}</p>}
      <ul>
        {h.data?.versions.map((v, i) => (
          <li key={String(v.modRevision)}>
            revision {String(v.modRevision)}: <code>{preview(v.value)}</code> {i > 0 && <button class="small" onClick={() => rollback(v)}>Roll back to this</button>}
          </li>
        ))}
      </ul>
      {h.data?.compacted === true && <p class="hint">Older values were compacted away.</p>}
    </div>
  );
}

export function ConfigPage({ session }: { readonly session: Session }): JSX.Element {
  const [prefix, setPrefix] = useState('config/');
  const [open, setOpen] = useState<string | undefined>(undefined);
  const poll = usePoll(() => session.client.kv.getPrefix(prefix), 3000, [prefix]);
  const namespaces = new Map<string, KeyValue[]>();
  for (const kv of poll.data ?? []) {
    const rest = bytesToString(kv.key).slice(prefix.length).split('/');
    if (rest.length !== 2) continue; // config/<ns>/<field> only; deeper keys are not configuration
    namespaces.set(rest[0]!, [...(namespaces.get(rest[0]!) ?? []), kv]);
  }
  return (
    <Section title="Configuration" actions={<input value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} title="the configuration prefix" />}>
      <ErrorBox error={poll.error} />
      {poll.data !== undefined && namespaces.size === 0 && <Empty>No configuration under {prefix}. A namespace is a prefix like {prefix}prod/ with one JSON key per field.</Empty>}
      {[...namespaces].map(([ns, fields]) => (
        <div key={ns} class="namespace" data-namespace={ns}>
          <h3>
            {prefix}
            {ns}/ <span class="count">{fields.length} fields</span>
          </h3>
          <table class="table">
            <thead>
              <tr>
                <th>Field</th>
                <th>Value</th>
                <th class="num">Revision</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {fields.map((kv) => {
                const key = bytesToString(kv.key);
                return (
                  <>
                    <tr key={key}>
                      <td>{key.slice(prefix.length + ns.length + 1)}</td>
                      <td>
                        <pre class="inline-value">{asJson(kv.value) ?? preview(kv.value)}</pre>
                      </td>
                      <td class="num">{String(kv.modRevision)}</td>
                      <td>
                        <button class="small" onClick={() => setOpen(open === key ? undefined : key)}>{open === key ? 'Hide history' : 'History'}</button>
                      </td>
                    </tr>
                    {open === key && (
                      <tr key={`${key}-h`}>
                        <td colSpan={4}>
                          <FieldHistory session={session} kv={kv} done={poll.reload} />
                        </td>
                      </tr>
                    )}
                  </>
                );
              })}
            </tbody>
          </table>
        </div>
      ))}
    </Section>
  );
}
