// Locks and elections (@cairn/concurrency): each contender holds NAME/<lease hex>; the one
// with the lowest create revision holds the lock or leads, the others wait in that order.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { bytesToString, type KeyValue } from '@cairn/client';
import type { Session } from '../session.js';
import { hexId, preview } from '../format.js';
import { Empty, ErrorBox, Section, usePoll } from '../ui.js';

export function LocksPage({ session }: { readonly session: Session }): JSX.Element {
  const [name, setName] = useState('');
  const poll = usePoll(
    async (): Promise<KeyValue[] | undefined> => {
      if (name === '') return undefined;
      const res = await session.client.kv.range({ key: `${name.replace(/\/$/, '')}/`, prefix: true, sortTarget: 'create', sortOrder: 'ascend' });
      return res.kvs;
    },
    1000,
    [name],
  );
  const [holder, ...waiters] = poll.data ?? [];
  return (
    <Section title="Locks & elections" actions={<input placeholder="lock or election name, e.g. jobs/nightly" value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="lock-name" />}>
      <ErrorBox error={poll.error} />
      {name === '' ? (
        <Empty>Type the name of a lock or an election (the prefix its contenders use) to see who holds it and who waits.</Empty>
      ) : holder === undefined ? (
        <Empty>Nobody holds {name} and nobody waits for it.</Empty>
      ) : (
        <>
          <p class="summary" data-testid="holder">
            Held by <code>{bytesToString(holder.key)}</code> (lease {hexId(holder.lease)}, fencing revision {String(holder.createRevision)})
            {holder.value.length > 0 ? <> · proposal <code>{preview(holder.value)}</code></> : null}
          </p>
          {waiters.length === 0 ? (
            <Empty>No waiters.</Empty>
          ) : (
            <ol class="queue" data-testid="waiters">
              {waiters.map((w) => (
                <li key={bytesToString(w.key)}>
                  <code>{bytesToString(w.key)}</code> waiting since revision {String(w.createRevision)}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </Section>
  );
}
