import { useRef, useState } from 'preact/hooks';
import { canModerate, threadOf } from '../protocol/state';
import { fold, MAIN_HALL } from '../protocol/types';
import { Composer, type UploadQueue } from './composer';
import { FormDialog, NAME_PATTERN } from './dialog';
import { MessageList, type Item } from './message-list';
import { MenuButton } from './menu';
import { MenuIcon, PeopleIcon } from './icons';
import { PresenceDot } from './presence-dot';
import { useClient } from './use-client';

type Dialog = '' | 'invite' | 'transfer' | 'delete' | 'info';

/** The main pane: header, messages of the room or DM on screen, and the message box. */
export function Conversation({ onOpenNav, membersOpen, onToggleMembers }: { onOpenNav: () => void; membersOpen: boolean; onToggleMembers: () => void }) {
  const client = useClient();
  const s = client.state;
  const queue = useRef<UploadQueue | null>(null);
  const [dragging, setDragging] = useState(false);
  const [dialog, setDialog] = useState<Dialog>('');
  const me = fold(s.username || s.identity);
  const moderator = canModerate(s);

  let items: Item[];
  let atStart: boolean;
  let title;
  let viewKey: string;
  let startText: string;
  let placeholder: string;
  if (s.view.kind === 'dm') {
    const t = threadOf(s, s.view.peer);
    viewKey = `dm:${fold(t.peer)}`;
    items = t.messages.map((m) => ({ id: m.id, author: m.from, content: m.content, ts: m.ts, recalled: m.recalled, attachment: m.attachment, mine: fold(m.from) === me, canRecall: fold(m.from) === me }));
    atStart = t.next === null;
    const p = s.presence.get(fold(t.peer));
    title = (
      <>
        <PresenceDot presence={p} /> <span data-testid="conversation-title">{t.peer}</span>
        {p?.status && <span class="header-status">{p.status}</span>}
      </>
    );
    startText = `This is the start of your conversation with ${t.peer}.`;
    placeholder = `Message ${t.peer}`;
  } else {
    const t = s.timelines.get(s.room);
    viewKey = `room:${s.room}:${t?.epoch ?? ''}`;
    items = (t?.messages ?? []).map((m) => ({ id: m.id, author: m.identity, content: m.content, ts: m.ts, recalled: m.recalled, attachment: m.attachment, seq: m.seq, mine: fold(m.identity) === me, canRecall: moderator || (s.username !== '' && fold(m.identity) === me) }));
    atStart = t?.next === null;
    title = (
      <>
        <span class="hash" aria-hidden="true">
          #
        </span>
        <span data-testid="conversation-title">{s.room}</span>
        {s.private && (
          <span class="tag" title="Invite only">
            private
          </span>
        )}
      </>
    );
    startText = `This is the very beginning of #${s.room}.`;
    placeholder = `Message #${s.room}`;
  }

  const roomItems = s.view.kind !== 'room' ? [] : [
    ...(moderator
      ? [
          { label: s.private ? 'Open the room to everyone' : 'Make the room private', onSelect: () => client.moderate('private', { on: !s.private }) },
          { label: 'Invite someone…', onSelect: () => setDialog('invite') },
          { label: 'Invitations and bans…', onSelect: () => { client.moderate('roominfo', {}); setDialog('info'); } },
          { label: 'Transfer ownership…', onSelect: () => setDialog('transfer') },
          { label: 'Delete the room…', onSelect: () => setDialog('delete'), danger: true },
        ]
      : []),
    ...(s.room !== MAIN_HALL ? [{ label: 'Leave the room', onSelect: () => client.join(MAIN_HALL) }] : []),
  ];

  return (
    <section
      class={`conversation${dragging ? ' dragging' : ''}`}
      aria-label={s.view.kind === 'dm' ? `Direct messages with ${s.view.peer}` : `Room ${s.room}`}
      onDragOver={(e) => {
        if (e.dataTransfer?.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length > 0) queue.current?.add(files);
      }}
    >
      <header class="conversation-head">
        <button type="button" class="icon-button open-nav" aria-label="Open rooms and direct messages" onClick={onOpenNav}>
          <MenuIcon />
        </button>
        <h1 class="conversation-title">{title}</h1>
        {s.view.kind === 'room' && (
          <button type="button" class={`members-toggle${membersOpen ? ' active' : ''}`} aria-pressed={membersOpen} aria-label={`Members: ${s.members.length}`} onClick={onToggleMembers} data-testid="members-toggle">
            <PeopleIcon /> {s.members.length}
          </button>
        )}
        <MenuButton label="Room actions" items={roomItems}>
          ⋮
        </MenuButton>
      </header>
      <MessageList viewKey={viewKey} items={items} atStart={atStart} loading={client.loadingOlder()} startText={startText} token={s.token} onLoadOlder={() => client.loadOlder()} onRecall={(id) => client.recall(id)} />
      <Composer placeholder={placeholder} queueRef={queue} />
      {dragging && (
        <div class="drop-zone" aria-hidden="true">
          Drop files to send them
        </div>
      )}
      {dialog === 'invite' && <FormDialog title={`Invite to #${s.room}`} submitLabel="Invite" fields={[{ name: 'identity', label: 'Username', required: true, pattern: NAME_PATTERN }]} onSubmit={(v) => client.moderate('invite', { identity: String(v.identity) })} onClose={() => setDialog('')} />}
      {dialog === 'transfer' && <FormDialog title={`Transfer #${s.room}`} submitLabel="Transfer" fields={[{ name: 'identity', label: 'New owner', required: true, pattern: NAME_PATTERN }]} onSubmit={(v) => client.moderate('transfer', { identity: String(v.identity) })} onClose={() => setDialog('')} />}
      {dialog === 'delete' && (
        <FormDialog title={`Delete #${s.room}?`} submitLabel="Delete" danger fields={[]} onSubmit={() => client.deleteRoom(s.room)} onClose={() => setDialog('')}>
          <p>Everyone in it goes back to MainHall, and its history is deleted.</p>
        </FormDialog>
      )}
      {dialog === 'info' && <RoomInfo onClose={() => setDialog('')} />}
    </section>
  );
}

function RoomInfo({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const info = client.state.roomInfo;
  return (
    <FormDialog title={`#${client.state.room}: invitations and bans`} submitLabel="Done" fields={[]} onSubmit={() => undefined} onClose={onClose}>
      {!info ? (
        <p>Loading…</p>
      ) : (
        <>
          <h3>Invited</h3>
          <ul class="people">
            {info.invited.length === 0 && <li class="hint">Nobody.</li>}
            {info.invited.map((n) => (
              <li key={n}>
                <span class="person-name">{n}</span>
                <button type="button" onClick={() => { client.moderate('uninvite', { identity: n }); client.moderate('roominfo', {}); }}>
                  Withdraw
                </button>
              </li>
            ))}
          </ul>
          <h3>Banned</h3>
          <ul class="people">
            {info.bans.length === 0 && <li class="hint">Nobody.</li>}
            {info.bans.map((b) => (
              <li key={b.identity}>
                <span class="person-name">{b.identity}</span>
                <span class="person-status">{b.until === 0 ? 'until lifted' : `until ${new Date(b.until).toLocaleString()}`}{b.reason ? ` — ${b.reason}` : ''}</span>
                <button type="button" onClick={() => { client.moderate('unban', { identity: b.identity }); client.moderate('roominfo', {}); }}>
                  Lift ban
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </FormDialog>
  );
}
