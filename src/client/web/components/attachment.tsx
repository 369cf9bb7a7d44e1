import { useEffect, useState } from 'preact/hooks';
import { downloadFile, fileBlobUrl, formatSize } from '../files';
import type { Attachment } from '../protocol/types';

/** An image preview (its thumbnail) or a file card with size and a download button. */
export function AttachmentView({ attachment, token }: { attachment: Attachment; token: string }) {
  const isImage = attachment.thumbnail && /^image\/(png|jpeg|gif|webp)$/.test(attachment.type);
  const [src, setSrc] = useState('');
  const [failed, setFailed] = useState('');
  useEffect(() => {
    if (!isImage || !token) return;
    let live = true;
    fileBlobUrl(attachment.id, token, true).then(
      (url) => live && setSrc(url),
      (e: Error) => live && setFailed(e.message),
    );
    return () => {
      live = false;
    };
  }, [attachment.id, token]);
  const download = () => void downloadFile(attachment, token).catch((e: Error) => setFailed(e.message));
  const openFull = () =>
    void fileBlobUrl(attachment.id, token, false).then(
      (url) => window.open(url, '_blank', 'noopener'),
      (e: Error) => setFailed(e.message),
    );
  if (isImage && !failed) {
    return (
      <figure class="attachment image-attachment" data-testid="image-attachment">
        <button type="button" class="image-button" onClick={openFull} aria-label={`Open image ${attachment.name}`}>
          {src ? <img src={src} alt={attachment.name} data-file-id={attachment.id} loading="lazy" /> : <span class="image-loading">Loading image…</span>}
        </button>
        <figcaption>
          {attachment.name} · {formatSize(attachment.size)}{' '}
          <button type="button" class="link-button" onClick={download}>
            Download
          </button>
        </figcaption>
      </figure>
    );
  }
  return (
    <div class="attachment file-card" data-testid="file-attachment">
      <span class="file-icon" aria-hidden="true">
        {(attachment.name.split('.').pop() ?? 'file').slice(0, 4).toUpperCase()}
      </span>
      <span class="file-meta">
        <span class="file-name">{attachment.name}</span>
        <span class="file-size">
          {formatSize(attachment.size)} · {attachment.type}
        </span>
        {failed && <span class="file-error">Not available ({failed})</span>}
      </span>
      <button type="button" onClick={download} aria-label={`Download ${attachment.name}`} disabled={!token}>
        Download
      </button>
    </div>
  );
}
