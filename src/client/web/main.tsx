/**
 * The web app's entry: one ChatClient over the same-origin `/ws` WebSocket, rendered by Preact.
 */
import { render } from 'preact';
import { App } from './components/app';
import { showNotification, pageVisible } from './notify';
import { ChatClient } from './protocol/client';
import type { SocketLike } from './protocol/connection';
import { memoryStorage, type KeyValue } from './protocol/storage';
import './styles.css';

function storage(): KeyValue {
  try {
    const ls = window.localStorage;
    ls.getItem('switchboard.probe');
    return ls;
  } catch {
    return memoryStorage(); // storage refused (private mode): the session works, nothing is kept
  }
}

/** ws://host/path/ws next to the page (wss:// under https). */
function socketUrl(): string {
  const url = new URL('ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

const client = new ChatClient({
  url: socketUrl(),
  // The DOM's handler types name Event where SocketLike says unknown; the shapes match.
  createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
  storage: storage(),
  isVisible: pageVisible,
  notify: showNotification,
});
// For the end-to-end tests and the curious: the state in the console.
(window as unknown as { switchboard: ChatClient }).switchboard = client;
client.start();

const seen = (): void => {
  if (pageVisible()) client.seen();
};
document.addEventListener('visibilitychange', seen);
window.addEventListener('focus', seen);

render(<App client={client} />, document.getElementById('app')!);
