import { useState } from 'preact/hooks';
import { askNotificationPermission, notificationsGranted } from '../notify';
import { fold } from '../protocol/types';
import { ContactsDialog } from './contacts';
import { FormDialog, ROOM_PATTERN } from './dialog';
import { MenuButton } from './menu';
import { PresenceDot } from './presence-dot';
import { useClient } from './use-client';

/** Rooms and direct messages, with the user's own menu on top. */
export function Sidebar({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const s = client.state;
  const [dialog, setDialog] = useState<'' | 'create' | 'join' | 'status' | 'contacts'>('');
  const me = s.username || s.identity;
  const selfPresence = s.username ? { username: me, online: true, status: s.status, dnd: s.dnd, state: s.dnd ? ('dnd' as const) : s.away ? ('away' as const) : ('online' as const) } : undefined;
  const userItems = s.username
    ? [
        { label: 'Set a status…', onSelect: () => setDialog('status') },
        { label: s.away ? 'Set yourself active' : 'Set yourself away', onSelect: () => client.setAway(!s.away) },
        { label: s.dnd ? 'Turn off do not disturb' : 'Do not disturb', onSelect: () => client.setDnd(!s.dnd) },
        { label: 'Contacts…', onSelect: () => setDialog('contacts') },
        ...(notificationsGranted() ? [] : [{ label: 'Enable desktop notifications', onSelect: () => void askNotificationPermission().then(() => client.changed()) }]),
        { label: 'Sign out', onSelect: () => client.logout(), danger: true },
      ]
    : [{ label: 'Sign in or create an account', onSelect: () => { client.entered = false; client.changed(); } }];
  const dmPeers = [...s.dms.values()].sort((a, b) => (b.last?.ts ?? 0) - (a.last?.ts ?? 0));
  return (
    <nav class="sidebar" aria-label="Rooms and direct messages">
      <header class="me">
        <div class="me-text">
          <div class="me-name">
            <PresenceDot presence={selfPresence} fallback="online" /> <strong data-testid="me">{me}</strong>
            {!s.username && <span class="tag">guest</span>}
            {s.admin && <span class="tag">admin</span>}
          </div>
          {s.status && <div class="me-status">{s.status}</div>}
          {s.dnd && <div class="me-status">Do not disturb</div>}
        </div>
        <MenuButton label="Your account" items={userItems}>
          ⋯
        </MenuButton>
        <button type="button" class="icon-button close-nav" aria-label="Close navigation" onClick={onClose}>
          ×
        </button>
      </header>
      <section aria-labelledby="rooms-heading">
        <div class="section-head">
          <h2 id="rooms-heading">Rooms</h2>
          <MenuButton
            label="Add a room"
            items={[
              { label: 'Create a room…', onSelect: () => setDialog('create') },
              { label: 'Join a room by name…', onSelect: () => setDialog('join') },
            ]}
          >
            +
          </MenuButton>
        </div>
        <ul class="nav-list" data-testid="room-list">
          {s.rooms.map((r) => {
            const current = r.roomid === s.room && s.view.kind === 'room';
            const unread = s.roomUnread.get(r.roomid) ?? 0;
            return (
              <li key={r.roomid}>
                <button type="button" class={`nav-item${current ? ' current' : ''}${unread > 0 ? ' unread' : ''}`} aria-current={current ? 'page' : undefined} onClick={() => client.join(r.roomid)} data-room={r.roomid}>
                  <span class="hash" aria-hidden="true">
                    #
                  </span>
                  <span class="nav-name">{r.roomid}</span>
                  <span class="count" title={`${r.count} in the room`} aria-label={`${r.count} members`}>
                    {r.count}
                  </span>
                  {unread > 0 && (
                    <span class="badge" aria-label={`${unread} unread`}>
                      {unread}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      </section>
      <section aria-labelledby="dm-heading">
        <div class="section-head">
          <h2 id="dm-heading">Direct messages</h2>
          {s.username && (
            <button type="button" class="icon-button" aria-label="New direct message or contact" title="Contacts" onClick={() => setDialog('contacts')}>
              +
            </button>
          )}
        </div>
        {!s.username && <p class="hint">Sign in to send direct messages.</p>}
        <ul class="nav-list" data-testid="dm-list">
          {dmPeers.map((t) => {
            const current = s.view.kind === 'dm' && fold(s.view.peer) === fold(t.peer);
            return (
              <li key={t.peer}>
                <button type="button" class={`nav-item${current ? ' current' : ''}${t.unread > 0 ? ' unread' : ''}`} aria-current={current ? 'page' : undefined} onClick={() => client.openDm(t.peer)} data-peer={t.peer}>
                  <PresenceDot presence={s.presence.get(fold(t.peer))} />
                  <span class="nav-name">{t.peer}</span>
                  {t.unread > 0 && (
                    <span class="badge" aria-label={`${t.unread} unread`}>
                      {t.unread}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      </section>
      {s.contacts.length > 0 && (
        <section aria-labelledby="contacts-heading">
          <div class="section-head">
            <h2 id="contacts-heading">Contacts</h2>
          </div>
          <ul class="nav-list" data-testid="contact-list">
            {s.contacts.map((c) => {
              const p = s.presence.get(fold(c));
              return (
                <li key={c}>
                  <button type="button" class="nav-item" onClick={() => client.openDm(c)} data-contact={c} data-state={p?.state ?? (p?.online ? (p.dnd ? 'dnd' : 'online') : 'offline')}>
                    <PresenceDot presence={p} />
                    <span class="nav-name">{c}</span>
                    {p?.status && <span class="nav-status">{p.status}</span>}
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {dialog === 'create' && (
        <FormDialog
          title="Create a room"
          submitLabel="Create"
          fields={[
            { name: 'roomid', label: 'Name', required: true, pattern: ROOM_PATTERN, title: '3 to 32 letters and digits, starting with a letter', placeholder: 'e.g. Lobby' },
            { name: 'private', label: 'Private (invite only)', type: 'checkbox' },
          ]}
          onSubmit={(v) => client.createRoom(String(v.roomid), v.private === true)}
          onClose={() => setDialog('')}
        />
      )}
      {dialog === 'join' && (
        <FormDialog title="Join a room" submitLabel="Join" fields={[{ name: 'roomid', label: 'Room name', required: true, pattern: ROOM_PATTERN, title: '3 to 32 letters and digits, starting with a letter' }]} onSubmit={(v) => client.join(String(v.roomid))} onClose={() => setDialog('')} />
      )}
      {dialog === 'status' && (
        <FormDialog title="Set a status" submitLabel="Save" fields={[{ name: 'text', label: 'Status (up to 140 characters)', value: s.status, placeholder: 'In a meeting' }]} onSubmit={(v) => client.setStatus(String(v.text).slice(0, 140))} onClose={() => setDialog('')} />
      )}
      {dialog === 'contacts' && <ContactsDialog onClose={() => setDialog('')} />}
    </nav>
  );
}
