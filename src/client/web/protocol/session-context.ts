import type { ChatState } from './state';
import type { ClientRequest } from './types';

/**
 * What the parts of a chat session (sign-in, room membership, timelines, unread counts, DMs,
 * presence) share: the one state they mutate and the ways out to the server and the user.
 * The session builds it once; the parts never see the connection or each other's bookkeeping.
 */
export interface SessionContext {
  /** The state the views read; the parts mutate it in place and the session announces it. */
  readonly state: ChatState;
  /** Sends a request; false when the link is down (it is dropped, not queued). */
  send(request: ClientRequest): boolean;
  /** Whether the user is looking at the page (document visible and focused). */
  visible(): boolean;
  /** A desktop notification, shown only while the user is not looking at the page. */
  notify(title: string, body: string): void;
  /** Queues a transient line for the user. */
  toast(kind: 'error' | 'info', text: string): void;
}
