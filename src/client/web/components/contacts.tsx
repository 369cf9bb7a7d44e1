import { useEffect, useRef, useState } from 'preact/hooks';
import { fold } from '../protocol/types';
import { closeOnEscape } from './dialog';
import { PresenceDot } from './presence-dot';
import { useClient } from './use-client';

/** Contacts: the list with presence, search users by name, add/remove, start a DM. */
export function ContactsDialog({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const s = client.state;
  const ref = useRef<HTMLDialogElement>(null);
  const [query, setQuery] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    client.contacts('list');
    return () => d?.close();
  }, []);
  useEffect(() => {
    // Searches as the user types, a little after the last key (the server rate-limits search).
    const timer = setTimeout(() => client.search(query.trim()), 250);
    return () => clearTimeout(timer);
  }, [query]);
  const isContact = (name: string) => s.contacts.some((c) => fold(c) === fold(name));
  const open = (name: string) => {
    client.openDm(name);
    onClose();
  };
  return (
    <dialog ref={ref} class="dialog contacts-dialog" aria-label="Contacts" onClose={onClose} onCancel={onClose} onKeyDown={(e) => closeOnEscape(e, onClose)}>
      <h2>Contacts</h2>
      <label>
        Find people
        <input type="search" name="search" placeholder="Type the start of a username" value={query} onInput={(e) => setQuery(e.currentTarget.value)} autoFocus />
      </label>
      {query.trim() !== '' && (
        <ul class="people" aria-label="Search results" data-testid="search-results">
          {s.searchResults.length === 0 && <li class="hint">No one found.</li>}
          {s.searchResults.map((u) => (
            <li key={u}>
              <span class="person-name">{u}</span>
              <button type="button" onClick={() => open(u)}>
                Message
              </button>
              {!isContact(u) && fold(u) !== fold(s.username) && (
                <button type="button" onClick={() => client.contacts('add', u)} aria-label={`Add ${u} to contacts`}>
                  Add
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <h3>Your contacts</h3>
      <ul class="people" aria-label="Your contacts">
        {s.contacts.length === 0 && <li class="hint">No contacts yet: find people above and add them.</li>}
        {s.contacts.map((c) => {
          const p = s.presence.get(fold(c));
          return (
            <li key={c}>
              <PresenceDot presence={p} />
              <span class="person-name">{c}</span>
              {p?.status && <span class="person-status">{p.status}</span>}
              <button type="button" onClick={() => open(c)}>
                Message
              </button>
              <button type="button" onClick={() => client.contacts('remove', c)} aria-label={`Remove ${c} from contacts`}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
