import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Field {
  name: string;
  label: string;
  value?: string;
  pattern?: string;
  title?: string;
  type?: 'text' | 'number' | 'checkbox';
  required?: boolean;
  placeholder?: string;
}

/**
 * A modal form (the native <dialog>: focus is kept inside, Escape closes it). Submitting calls
 * `onSubmit` with the fields' values and closes.
 */
export function FormDialog({ title, fields, submitLabel, onSubmit, onClose, danger, children }: {
  title: string;
  fields: Field[];
  submitLabel: string;
  onSubmit: (values: Record<string, string | boolean>) => void;
  onClose: () => void;
  danger?: boolean;
  children?: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [values, setValues] = useState<Record<string, string | boolean>>(() => Object.fromEntries(fields.map((f) => [f.name, f.type === 'checkbox' ? false : f.value ?? ''])));
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-label={title} onClose={onClose} onCancel={onClose} onKeyDown={(e) => closeOnEscape(e, onClose)}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit(values);
          onClose();
        }}
      >
        <h2>{title}</h2>
        {children}
        {fields.map((f) =>
          f.type === 'checkbox' ? (
            <label class="check" key={f.name}>
              <input type="checkbox" name={f.name} checked={values[f.name] === true} onChange={(e) => setValues({ ...values, [f.name]: e.currentTarget.checked })} /> {f.label}
            </label>
          ) : (
            <label key={f.name}>
              {f.label}
              <input
                name={f.name}
                type="text"
                inputMode={f.type === 'number' ? 'numeric' : undefined}
                required={f.required ?? false}
                pattern={f.type === 'number' ? '[0-9]*' : f.pattern}
                title={f.title}
                placeholder={f.placeholder}
                value={values[f.name] as string}
                onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
              />
            </label>
          ),
        )}
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={danger ? 'danger-button' : 'primary'}>
            {submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The identity pattern (PROTOCOL.md Names), for name fields. */
export const NAME_PATTERN = '[A-Za-z][A-Za-z0-9]{2,15}';
/** The room id pattern. */
export const ROOM_PATTERN = '[A-Za-z][A-Za-z0-9]{2,31}';

/**
 * Escape closes a dialog wherever the focus is in it: the browser's own cancel does not come
 * when a search field takes the first Escape to clear itself.
 */
export function closeOnEscape(e: KeyboardEvent, close: () => void): void {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  e.preventDefault();
  close();
}
