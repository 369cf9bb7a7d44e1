import { useState } from 'preact/hooks';
import { canModerate } from '../protocol/state';
import { fold } from '../protocol/types';
import { FormDialog } from './dialog';
import { MenuButton, type MenuItem } from './menu';
import { PresenceDot } from './presence-dot';
import { useClient } from './use-client';

/** The room's members with presence, and a menu of actions on each. */
export function MemberList({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const s = client.state;
  const [ban, setBan] = useState('');
  const moderator = canModerate(s);
  const me = fold(s.identity);
  return (
    <aside class="members" aria-label={`Members of ${s.room}`}>
      <header class="members-head">
        <h2>
          Members <span class="count">{s.members.length}</span>
        </h2>
        <button type="button" class="icon-button" aria-label="Close the member list" onClick={onClose}>
          ×
        </button>
      </header>
      <ul class="member-list" data-testid="member-list">
        {s.members.map((m) => {
          const p = s.presence.get(fold(m));
          const isMe = fold(m) === me;
          const isOwner = s.owner !== '' && fold(s.owner) === fold(m);
          const blocked = s.blocklist.some((b) => fold(b) === fold(m));
          const items: MenuItem[] = isMe
            ? []
            : [
                ...(s.username ? [{ label: 'Send a direct message', onSelect: () => client.openDm(m) }] : []),
                ...(s.username && !s.contacts.some((c) => fold(c) === fold(m)) ? [{ label: 'Add to contacts', onSelect: () => client.contacts('add', m) }] : []),
                ...(s.username ? [{ label: blocked ? 'Unblock' : 'Block', onSelect: () => client.block(m, !blocked) }] : []),
                ...(moderator && !isOwner
                  ? [
                      { label: 'Remove from the room', onSelect: () => client.moderate('kick', { identity: m }), danger: true },
                      { label: 'Ban from the room…', onSelect: () => setBan(m), danger: true },
                      { label: 'Make owner', onSelect: () => client.moderate('transfer', { identity: m }) },
                    ]
                  : []),
              ];
          return (
            <li key={m} class="member" data-member={m}>
              <PresenceDot presence={p} fallback="online" />
              <span class="member-text">
                <span class="member-name">
                  {m}
                  {isMe && <span class="you"> (you)</span>}
                </span>
                {p?.status && <span class="member-status">{p.status}</span>}
              </span>
              {isOwner && <span class="tag">owner</span>}
              {blocked && <span class="tag">blocked</span>}
              <MenuButton label={`Actions for ${m}`} items={items} className="member-menu">
                ⋯
              </MenuButton>
            </li>
          );
        })}
      </ul>
      {ban && (
        <FormDialog
          title={`Ban ${ban} from #${s.room}`}
          submitLabel="Ban"
          danger
          fields={[
            { name: 'minutes', label: 'For how many minutes (empty: until lifted)', type: 'number' },
            { name: 'reason', label: 'Reason (optional)' },
          ]}
          onSubmit={(v) => {
            const minutes = Number(v.minutes);
            const fields: Record<string, unknown> = { identity: ban };
            if (v.minutes !== '' && Number.isFinite(minutes) && minutes > 0) fields.seconds = Math.round(minutes * 60);
            if (v.reason) fields.reason = String(v.reason).slice(0, 200);
            client.moderate('ban', fields);
          }}
          onClose={() => setBan('')}
        />
      )}
    </aside>
  );
}
