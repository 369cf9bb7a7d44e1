import { useEffect } from 'preact/hooks';
import { useClient } from './use-client';

/** "Reconnecting…" while the link is down, or why the session ended. */
export function ConnectionBanner() {
  const client = useClient();
  const s = client.state;
  if (s.link === 'reconnecting') {
    return (
      <div class="banner banner-warn" role="status" data-testid="reconnecting">
        <span class="spinner" aria-hidden="true" /> Reconnecting…
      </div>
    );
  }
  if (s.link === 'connecting') {
    return (
      <div class="banner banner-info" role="status">
        Connecting…
      </div>
    );
  }
  if (s.link === 'closed') {
    return (
      <div class="banner banner-error" role="alert">
        {s.closedReason || 'Disconnected.'}{' '}
        <button type="button" class="link-button" onClick={() => window.location.reload()}>
          Reconnect
        </button>
      </div>
    );
  }
  return null;
}

/** Errors and moderation news, each dismissable, gone by itself after a while. */
export function Toasts() {
  const client = useClient();
  const toasts = client.state.toasts;
  useEffect(() => {
    if (toasts.length === 0) return;
    const first = toasts[0]!;
    const timer = setTimeout(() => client.dismissToast(first.id), 6000);
    return () => clearTimeout(timer);
  }, [toasts]);
  return (
    <div class="toasts" aria-live="polite" aria-relevant="additions">
      {toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span>{t.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => client.dismissToast(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
