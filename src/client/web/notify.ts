/**
 * Notifications: the Notification API when the user allowed it, and the tab title's unread
 * count always (so a user who did not allow notifications still sees there is something new).
 */

const BASE_TITLE = 'Switchboard';

/** Whether desktop notifications may be shown now. */
export function notificationsGranted(): boolean {
  return typeof Notification !== 'undefined' && Notification.permission === 'granted';
}

/** Asks for permission (must run from a user gesture, e.g. a click). */
export async function askNotificationPermission(): Promise<boolean> {
  if (typeof Notification === 'undefined') return false;
  if (Notification.permission === 'granted') return true;
  return (await Notification.requestPermission()) === 'granted';
}

/** Shows a notification if allowed; clicking it focuses the tab. */
export function showNotification(title: string, body: string): void {
  if (!notificationsGranted()) return;
  try {
    const n = new Notification(title, { body: body.slice(0, 200), tag: 'switchboard' });
    n.onclick = () => {
      window.focus();
      n.close();
    };
  } catch {
    /* some browsers allow notifications only from a service worker: the title count remains */
  }
}

/** "(3) #Lobby · Switchboard". */
export function updateTitle(unread: number, where: string): void {
  const prefix = unread > 0 ? `(${unread}) ` : '';
  document.title = `${prefix}${where ? `${where} · ` : ''}${BASE_TITLE}`;
}

/** Whether the user is looking at the page now. */
export function pageVisible(): boolean {
  return document.visibilityState === 'visible' && document.hasFocus();
}
