/**
 * The two faces of the client on the user's side:
 * - interactive (a terminal): a readline prompt that stays intact while events arrive;
 * - line mode (a pipe or file): input read line by line, no prompt, plain output.
 */
import * as readline from 'node:readline';

export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean };
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface UiHandlers {
  /** The user entered a line. */
  line(text: string): void;
  /** The input ended (EOF, Ctrl-D). Not called when the UI itself stops input. */
  end(): void;
  /** The user pressed Ctrl-C, or (line mode) the output can no longer be written. */
  interrupt(): void;
}

export interface Ui {
  /** Shows a line on the output without disturbing what the user is typing. */
  show(line: string): void;
  /** Shows a line on the error output. */
  warn(line: string): void;
  /** Sets the prompt used from the next redraw on. */
  setPrompt(prompt: string): void;
  /** Stops reading input (the terminal is given back in its normal mode). */
  stopInput(): void;
}

export interface UiStreams {
  input: InputStream;
  output: OutputStream;
  errorOutput: NodeJS.WritableStream;
}

/** Interactive UI over a terminal. */
export function createTerminalUi(streams: UiStreams, handlers: UiHandlers): Ui {
  const { input, output, errorOutput } = streams;
  const rl = readline.createInterface({ input, output, terminal: true, prompt: '', historySize: 200 });
  let open = true;
  let stopping = false;
  /** The prompt (and partial input) is on screen, below the last line shown. */
  let drawn = false;

  // Erases the prompt and partial input, which may wrap over several rows.
  const erase = (): void => {
    if (!drawn) return;
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
    rl.prompt(true);
    drawn = true;
  };
  const around = (print: () => void): void => {
    erase();
    print();
    draw();
  };

  rl.on('line', (text) => {
    drawn = false; // readline has moved to a fresh line
    handlers.line(text);
    draw();
  });
  rl.on('SIGINT', () => handlers.interrupt());
  rl.on('close', () => {
    erase();
    open = false;
    if (!stopping) handlers.end();
  });

  return {
    show: (line) => around(() => output.write(line + '\n')),
    warn: (line) => around(() => errorOutput.write(line + '\n')),
    setPrompt: (prompt) => rl.setPrompt(prompt),
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
  return {
    show: (line) => {
      output.write(line + '\n');
    },
    warn: (line) => {
      errorOutput.write(line + '\n');
    },
    setPrompt: () => undefined,
    stopInput: () => {
      if (!open) return;
      stopping = true;
      rl.close();
      input.pause();
    },
  };
}
