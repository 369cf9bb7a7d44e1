import { useEffect, useState } from 'preact/hooks';
import { updateTitle } from '../notify';
import type { ChatClient } from '../protocol/client';
import { totalUnread } from '../protocol/state';
import { ConnectionBanner, Toasts } from './banner';
import { Conversation } from './conversation';
import { MemberList } from './members';
import { Sidebar } from './sidebar';
import { SignIn } from './sign-in';
import { ClientContext, useClient } from './use-client';

/** The whole app: the sign-in screen, then the three-pane chat. */
export function App({ client }: { client: ChatClient }) {
  return (
    <ClientContext.Provider value={client}>
      <Root />
    </ClientContext.Provider>
  );
}

function Root() {
  const client = useClient();
  const s = client.state;
  useEffect(() => {
    updateTitle(totalUnread(s), s.view.kind === 'dm' ? s.view.peer : s.room ? `#${s.room}` : '');
  });
  if (!client.entered) {
    return (
      <>
        <ConnectionBanner />
        <SignIn />
      </>
    );
  }
  return <Shell />;
}

/** Sidebar, conversation, members; on a phone the side panels slide over the conversation. */
function Shell() {
  const client = useClient();
  const s = client.state;
  const [navOpen, setNavOpen] = useState(false);
  const [membersOpen, setMembersOpen] = useState(() => window.innerWidth > 900);
  // Going down to phone width closes the member list (it would cover the conversation).
  useEffect(() => {
    const narrow = window.matchMedia('(max-width: 900px)');
    const onChange = () => narrow.matches && setMembersOpen(false);
    narrow.addEventListener('change', onChange);
    return () => narrow.removeEventListener('change', onChange);
  }, []);
  // Picking a room or DM on a phone closes the drawer.
  useEffect(() => setNavOpen(false), [s.room, s.view.kind, s.view.kind === 'dm' ? s.view.peer : '']);
  return (
    <div class={`shell${navOpen ? ' nav-open' : ''}${membersOpen && s.view.kind === 'room' ? ' members-open' : ''}`}>
      <a class="skip-link" href="#composer-input">
        Skip to message box
      </a>
      <Sidebar onClose={() => setNavOpen(false)} />
      <div class="scrim" onClick={() => { setNavOpen(false); if (window.innerWidth <= 900) setMembersOpen(false); }} aria-hidden="true" />
      <main class="main" aria-label="Conversation">
        <ConnectionBanner />
        <Conversation onOpenNav={() => setNavOpen(true)} membersOpen={membersOpen} onToggleMembers={() => setMembersOpen(!membersOpen)} />
      </main>
      {s.view.kind === 'room' && membersOpen && <MemberList onClose={() => setMembersOpen(false)} />}
      <Toasts />
    </div>
  );
}
