/**
 * The two faces of the client on the user's side:
 * - interactive (a terminal): Node's readline (history of typed lines with Up/Down, Tab
 *   completion, line editing) with a prompt that stays intact while events arrive, a status
 *   line that updates in place, lines replaced where they stand (a recalled message), and
 *   passwords asked for without echo;
 * - line mode (a pipe or file): input read line by line, no prompt, plain output.
 */
import * as readline from 'node:readline';
import { Writable } from 'node:stream';

export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean };
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };

export interface UiHandlers {
  /** The user entered a line. */
  line(text: string): void;
  /** The input ended (EOF, Ctrl-D). Not called when the UI itself stops input. */
  end(): void;
  /** The user pressed Ctrl-C, or (line mode) the output can no longer be written. */
  interrupt(): void;
  /** PageUp (interactive): page back in the history read last. */
  pageUp?(): void;
  /**
   * The typed line as it may stay on screen (`shown`) and in the input history (`kept`), when
   * it holds a secret; null when it holds none.
   */
  secretless?(line: string): { shown: string; kept: string } | null;
  /** Words to complete with Tab (names, rooms) after the command names. */
  completions?(): string[];
  /** Command names, for Tab after `/` or `#`. */
  commandNames?: readonly string[];
}

/** A line shown, to be replaced later (`replace`). */
export type LineHandle = number;

export interface Ui {
  /** Shows a line on the output without disturbing what the user is typing. */
  show(line: string): LineHandle;
  /**
   * Shows a status line: the next status line replaces it where it stands if nothing was
   * shown in between (interactive); line mode prints each.
   */
  status(line: string): void;
  /** Replaces a line shown before, if it is still on screen; false if it cannot be (line mode, scrolled away). */
  replace(handle: LineHandle, line: string): boolean;
  /** Shows a line on the error output. */
  warn(line: string): void;
  /** Sets the prompt used from the next redraw on (and redraws it). */
  setPrompt(prompt: string): void;
  /**
   * Asks for a secret with `prompt` and no echo (interactive; line mode resolves null: the
   * session takes the next input line). Resolves with null when cancelled (Ctrl-C, end of input).
   */
  askSecret(prompt: string): Promise<string | null>;
  /** Stops reading input (the terminal is given back in its normal mode). */
  stopInput(): void;
}

export interface UiStreams {
  input: InputStream;
  output: OutputStream;
  errorOutput: NodeJS.WritableStream;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The columns `text` takes on screen (ANSI sequences take none). */
export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Lines remembered for `replace` (their rows on screen), newest last. */
const REMEMBERED_LINES = 1000;

/** Interactive UI over a terminal. */
export function createTerminalUi(streams: UiStreams, handlers: UiHandlers): Ui {
  const { input, output, errorOutput } = streams;
  // readline writes through this, so that its echo can be silenced while a password is typed.
  let muted = false;
  const echo = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (!muted) output.write(chunk);
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; rows?: number };
  Object.defineProperty(echo, 'columns', { get: () => output.columns });
  Object.defineProperty(echo, 'rows', { get: () => output.rows });
  echo.isTTY = true;
  const outputEvents = output as unknown as NodeJS.EventEmitter;
  outputEvents.on?.('resize', () => echo.emit('resize'));

  const completer = (line: string): [string[], string] => {
    const command = /^([/#])(\S*)$/.exec(line);
    if (command) {
      const hits = (handlers.commandNames ?? []).filter((name) => name.startsWith(command[2]!.toLowerCase())).map((n) => command[1] + n + ' ');
      return [hits, line];
    }
    const word = /(\S*)$/.exec(line)![1]!;
    if (word === '') return [[], word];
    const hits = [...new Set(handlers.completions?.() ?? [])].filter((w) => w.toLowerCase().startsWith(word.toLowerCase()));
    return [hits, word];
  };
  const rl = readline.createInterface({ input, output: echo, terminal: true, prompt: '', historySize: 200, completer });
  const history = (rl as unknown as { history: string[] }).history;
  let open = true;
  let stopping = false;
  /** The prompt (and partial input) is on screen, below the last line shown. */
  let drawn = false;
  let prompt = '';
  /** The password being asked for, if any. */
  let secret: { prompt: string; resolve: (value: string | null) => void } | null = null;
  /** The last line shown was a status line, taking this many rows. */
  let statusRows = 0;
  /** Lines shown, by handle: the rows each took. */
  const shown = new Map<LineHandle, number>();
  let nextHandle = 1;

  const columns = (): number => Math.max(10, output.columns ?? 80);
  const rowsOf = (text: string): number => Math.max(1, Math.ceil(visibleLength(text) / columns()));

  // Erases the prompt and partial input, which may wrap over several rows.
  const erase = (): void => {
    if (!drawn) return;
    if (secret) {
      readline.cursorTo(output, 0);
      readline.clearScreenDown(output);
      drawn = false;
      return;
    }
    const cursor = rl.getCursorPos();
    readline.moveCursor(output, 0, -cursor.rows);
    readline.cursorTo(output, 0);
    readline.clearScreenDown(output);
    drawn = false;
    // readline's next redraw first moves up as many rows as its last one spread over; we have
    // just erased those rows ourselves, so tell it the prompt now starts on the cursor's row.
    // (`prevRows` is an undocumented field; without it wrapped input would overwrite a row.)
    const internals = rl as unknown as { prevRows?: number };
    if (typeof internals.prevRows === 'number') internals.prevRows = 0;
  };
  // Redraws prompt and partial input, the cursor where it was.
  const draw = (): void => {
    if (!open) return;
    if (secret) {
      if (drawn) return;
      output.write(secret.prompt);
    } else {
      rl.prompt(true);
    }
    drawn = true;
  };
  const around = (print: () => void): void => {
    erase();
    print();
    draw();
  };
  const remember = (text: string): LineHandle => {
    const handle = nextHandle++;
    shown.set(handle, rowsOf(text));
    if (shown.size > REMEMBERED_LINES) shown.delete(shown.keys().next().value!);
    return handle;
  };

  rl.on('line', (text) => {
    drawn = false; // readline has moved to a fresh line
    if (secret) {
      const { resolve } = secret;
      secret = null;
      muted = false;
      if (history[0] === text) history.shift();
      output.write('\n');
      rl.setPrompt(prompt);
      resolve(text);
      draw();
      return;
    }
    const clean = handlers.secretless?.(text) ?? null;
    if (clean) {
      // The password must not stay on screen nor come back with Up: the echo is rewritten
      // masked, and the history keeps the line without it (recalled, it asks again, hidden).
      readline.moveCursor(output, 0, -rowsOf(prompt + text));
      readline.cursorTo(output, 0);
      readline.clearScreenDown(output);
      output.write(prompt + clean.shown + '\n');
      if (history[0] === text) history[0] = clean.kept;
    }
    statusRows = 0;
    remember(prompt + (clean?.shown ?? text));
    handlers.line(text);
    draw();
  });
  rl.on('SIGINT', () => {
    if (secret) {
      const { resolve } = secret;
      around(() => {
        secret = null;
        muted = false;
        rl.write(null, { ctrl: true, name: 'u' }); // what was typed of the password is dropped
        output.write('(cancelled)\n');
      });
      resolve(null);
      return;
    }
    handlers.interrupt();
  });
  rl.on('close', () => {
    erase();
    open = false;
    if (secret) {
      secret.resolve(null);
      secret = null;
      muted = false;
    }
    if (!stopping) handlers.end();
  });
  input.on('keypress', (_s: string, key: { name?: string } | undefined) => {
    if (key?.name === 'pageup' && !secret) handlers.pageUp?.();
  });

  return {
    show: (line) => {
      let handle = 0;
      around(() => {
        output.write(line + '\n');
        handle = remember(line);
        statusRows = 0;
      });
      return handle;
    },
    status: (line) =>
      around(() => {
        if (statusRows > 0) {
          readline.moveCursor(output, 0, -statusRows);
          readline.cursorTo(output, 0);
          readline.clearScreenDown(output);
        }
        output.write(line + '\n');
        remember(line);
        statusRows = rowsOf(line);
      }),
    replace: (handle, line) => {
      const rows = shown.get(handle);
      if (rows === undefined) return false;
      let below = 0;
      for (const [h, r] of shown) if (h > handle) below += r;
      if (below + rows >= (output.rows ?? 24) - 1) return false; // scrolled out of sight
      const text = [...line].slice(0, columns() - 1).join('');
      around(() => {
        readline.moveCursor(output, 0, -(below + rows));
        readline.cursorTo(output, 0);
        output.write('\x1b[2K' + text);
        for (let i = 1; i < rows; i++) {
          readline.moveCursor(output, 0, 1);
          output.write('\r\x1b[2K');
        }
        readline.moveCursor(output, 0, below + 1);
        readline.cursorTo(output, 0);
      });
      shown.set(handle, rows);
      return true;
    },
    warn: (line) => {
      statusRows = 0;
      around(() => errorOutput.write(line + '\n'));
    },
    setPrompt: (next) => {
      if (next === prompt) return;
      prompt = next;
      if (secret) return;
      around(() => rl.setPrompt(next));
    },
    askSecret: (ask) =>
      new Promise((resolve) => {
        if (!open) {
          resolve(null);
          return;
        }
        erase();
        secret = { prompt: ask, resolve };
        muted = true;
        draw();
      }),
    stopInput: () => {
      if (!open) return;
      stopping = true;
      rl.close();
    },
  };
}

/** Line-mode UI over a pipe or file: lines in order, no prompt, no echo. */
export function createLineUi(streams: UiStreams, handlers: UiHandlers): Ui {
  const { input, output, errorOutput } = streams;
  const rl = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
  let stopping = false;
  let open = true;
  rl.on('line', (text) => handlers.line(text));
  rl.on('close', () => {
    open = false;
    if (!stopping) handlers.end();
  });
  // The reader of our output went away (`... | head -3`): leave like on Ctrl-C, quietly.
  output.on('error', () => handlers.interrupt());
  let handles = 0;
  return {
    show: (line) => {
      output.write(line + '\n');
      return ++handles;
    },
    status: (line) => {
      output.write(line + '\n');
    },
    replace: () => false,
    warn: (line) => {
      errorOutput.write(line + '\n');
    },
    setPrompt: () => undefined,
    // In line mode the session takes the secret from its queue of input lines (the next one).
    askSecret: () => Promise.resolve(null),
    stopInput: () => {
      if (!open) return;
      stopping = true;
      rl.close();
      input.pause();
    },
  };
}
