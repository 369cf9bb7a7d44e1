import { useRef, useState } from 'preact/hooks';
import { formatSize, uploadFile, type Upload } from '../files';
import { ClipIcon } from './icons';
import { useClient } from './use-client';

/** Files waiting to go, and the one going now with its progress. */
export interface UploadQueue {
  add(files: File[]): void;
}

/**
 * The message box: Enter sends, Shift+Enter starts a new line; files come from the paperclip,
 * a paste, or a drop on the conversation (the parent passes them through `queueRef`), each
 * uploaded with a progress bar, then sent as an attachment to the room or DM on screen.
 */
export function Composer({ placeholder, queueRef }: { placeholder: string; queueRef: { current: UploadQueue | null } }) {
  const client = useClient();
  const s = client.state;
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<{ name: string; size: number; fraction: number } | null>(null);
  const [uploadError, setUploadError] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  const current = useRef<Upload | null>(null);
  const waiting = useRef<File[]>([]);
  const canUpload = s.token !== '';

  const pump = () => {
    if (current.current || waiting.current.length === 0) return;
    const file = waiting.current.shift()!;
    setUploadError('');
    setProgress({ name: file.name, size: file.size, fraction: 0 });
    const up = uploadFile(file, s.token, (fraction) => setProgress({ name: file.name, size: file.size, fraction }));
    current.current = up;
    up.promise.then(
      (stored) => {
        client.sendText('', stored.id);
      },
      (e: Error) => setUploadError(`${file.name}: ${e.message}`),
    ).finally(() => {
      current.current = null;
      setProgress(null);
      pump();
    });
  };
  queueRef.current = {
    add(files: File[]) {
      if (!canUpload) {
        setUploadError('Sign in to send files.');
        return;
      }
      waiting.current.push(...files);
      pump();
    },
  };

  const send = () => {
    const content = text.trim();
    if (content === '') return;
    if (s.link !== 'online') return;
    client.sendText(text);
    setText('');
  };
  return (
    <div class="composer">
      {progress && (
        <div class="upload" role="status" data-testid="upload-progress">
          <span>
            Uploading {progress.name} ({formatSize(progress.size)})
          </span>
          <progress max={1} value={progress.fraction} aria-label={`Upload of ${progress.name}`} />
          <button type="button" class="link-button" onClick={() => current.current?.abort()}>
            Cancel
          </button>
        </div>
      )}
      {uploadError && (
        <div class="upload-error" role="alert">
          {uploadError}
        </div>
      )}
      <form
        class="composer-form"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <button type="button" class="icon-button attach" aria-label={canUpload ? 'Attach files' : 'Sign in to attach files'} title={canUpload ? 'Attach files' : 'Sign in to attach files'} disabled={!canUpload} onClick={() => fileInput.current?.click()}>
          <ClipIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          data-testid="file-input"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            queueRef.current?.add(files);
          }}
        />
        <textarea
          id="composer-input"
          rows={1}
          value={text}
          placeholder={placeholder}
          aria-label={placeholder}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
          onPaste={(e) => {
            const files = [...(e.clipboardData?.files ?? [])];
            if (files.length > 0) {
              e.preventDefault();
              queueRef.current?.add(files);
            }
          }}
        />
        <button type="submit" class="primary send" disabled={text.trim() === '' || s.link !== 'online'} aria-label="Send">
          Send
        </button>
      </form>
    </div>
  );
}
