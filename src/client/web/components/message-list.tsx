import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { Attachment } from '../protocol/types';
import { AttachmentView } from './attachment';
import { TrashIcon } from './icons';

/** One row of a conversation, room message or DM. */
export interface Item {
  id: string;
  author: string;
  content: string;
  ts: number;
  recalled?: boolean;
  attachment?: Attachment;
  seq?: number;
  mine: boolean;
  /** Whether the user may recall it (own message, or room moderator). */
  canRecall: boolean;
}

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const DAY = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });

function dayLabel(ts: number): string {
  const d = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return DAY.format(d);
}

/** A stable colour per name, for avatars. */
function hue(name: string): number {
  let h = 0;
  for (const c of name.toLowerCase()) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

/**
 * The messages of the conversation: day separators, sender and HH:MM time (grouped like Slack:
 * a sender's messages within 5 minutes share one header), recalled placeholders, attachments.
 * Scrolling to the top asks for the older page until the start; new messages keep the view at
 * the bottom when it was there.
 */
export function MessageList({ viewKey, items, atStart, loading, startText, token, onLoadOlder, onRecall }: {
  viewKey: string;
  items: Item[];
  atStart: boolean;
  loading: boolean;
  startText: string;
  token: string;
  onLoadOlder: () => void;
  onRecall: (id: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const memo = useRef({ key: '', first: '', count: 0, height: 0, atBottom: true });
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const m = memo.current;
    const first = items[0]?.id ?? '';
    if (m.key !== viewKey) el.scrollTop = el.scrollHeight;
    else if (first !== m.first && items.length > m.count && m.count > 0 && !m.atBottom) el.scrollTop += el.scrollHeight - m.height; // older page prepended: stay put
    else if (m.atBottom) el.scrollTop = el.scrollHeight;
    m.key = viewKey;
    m.first = first;
    m.count = items.length;
    m.height = el.scrollHeight;
    m.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    // A short page that does not fill the box: the user cannot scroll up to ask for more.
    if (!atStart && !loading && el.scrollHeight <= el.clientHeight + 10) onLoadOlder();
  });
  // Content that grows by itself (an image preview arriving) keeps a view that was at the
  // bottom there, as a new message does.
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !list.current || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (memo.current.atBottom) el.scrollTop = el.scrollHeight;
      memo.current.height = el.scrollHeight;
    });
    observer.observe(list.current);
    return () => observer.disconnect();
  }, []);
  const onScroll = () => {
    const el = box.current!;
    memo.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    memo.current.height = el.scrollHeight;
    if (el.scrollTop < 120 && !atStart && !loading) onLoadOlder();
  };
  const rows = [];
  let prev: Item | undefined;
  for (const it of items) {
    const newDay = !prev || new Date(prev.ts).toDateString() !== new Date(it.ts).toDateString();
    if (newDay) {
      rows.push(
        <li class="day-separator" role="separator" key={`day-${it.ts}-${it.id}`}>
          <span>{dayLabel(it.ts)}</span>
        </li>,
      );
    }
    const grouped = !newDay && prev !== undefined && prev.author === it.author && it.ts - prev.ts < 5 * 60_000 && !prev.recalled;
    rows.push(<Row key={it.id} item={it} grouped={grouped} token={token} onRecall={onRecall} />);
    prev = it;
  }
  return (
    <div class="messages" ref={box} onScroll={onScroll} data-testid="messages" tabIndex={0} aria-label="Messages">
      <div class="history-edge">
        {atStart ? <p class="start-of-history" data-testid="start-of-history">{startText}</p> : loading ? <p class="loading">Loading older messages…</p> : <button type="button" class="link-button" onClick={onLoadOlder}>Load older messages</button>}
      </div>
      <ol class="message-list" ref={list} aria-live="polite" aria-relevant="additions">
        {rows}
      </ol>
    </div>
  );
}

function Row({ item, grouped, token, onRecall }: { item: Item; grouped: boolean; token: string; onRecall: (id: string) => void }) {
  const time = TIME.format(new Date(item.ts));
  return (
    <li class={`message${grouped ? ' grouped' : ''}${item.mine ? ' mine' : ''}`} data-id={item.id} data-seq={item.seq} data-author={item.author}>
      {grouped ? (
        <time class="gutter-time" dateTime={new Date(item.ts).toISOString()}>
          {time}
        </time>
      ) : (
        <span class="avatar" aria-hidden="true" style={{ background: `hsl(${hue(item.author)} 55% 45%)` }}>
          {item.author.slice(0, 1).toUpperCase()}
        </span>
      )}
      <div class="message-body">
        {!grouped && (
          <div class="message-head">
            <span class="author">{item.author}</span>
            <time dateTime={new Date(item.ts).toISOString()} title={new Date(item.ts).toLocaleString()}>
              {time}
            </time>
          </div>
        )}
        {item.recalled ? (
          <p class="content recalled">This message was deleted.</p>
        ) : (
          <>
            {item.content !== '' && <p class="content">{item.content}</p>}
            {item.attachment && <AttachmentView attachment={item.attachment} token={token} />}
          </>
        )}
      </div>
      {item.canRecall && !item.recalled && (
        <div class="row-actions">
          <button type="button" class="icon-button" aria-label="Delete message" title="Delete message" onClick={() => onRecall(item.id)}>
            <TrashIcon />
          </button>
        </div>
      )}
    </li>
  );
}
