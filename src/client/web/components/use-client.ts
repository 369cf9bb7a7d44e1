import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { ChatClient } from '../protocol/client';

/** The one ChatClient of the page, for every component below App. */
export const ClientContext = createContext<ChatClient | null>(null);

/** The client, re-rendering the caller on every state change. */
export function useClient(): ChatClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside <App>');
  const [, setVersion] = useState(0);
  useEffect(() => client.subscribe(() => setVersion(client.state.version)), [client]);
  return client;
}
