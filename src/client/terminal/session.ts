/**
 * One connected chat session: ties the server connection, the user interface, the client's
 * view state and the transcript together, and decides when the session ends and with what
 * exit code.
 */
import type { Socket } from 'node:net';
import { parseInput, replyMatcher } from './commands';
import { ServerConnection } from './connection';
import { formatDisconnect, formatServerEvent, promptFor } from './format';
import type { SplitEvent } from './line-splitter';
import type { SessionLog } from './session-log';
import { applyServerMessage, initialViewState, type ViewState } from './state';
import { createLineUi, createTerminalUi, type Ui, type UiStreams } from './ui';
import { decodeServerLine, type ServerEvent, type ServerMessage } from './wire';

/** Exit codes of `switchboard connect`. */
export const ExitCode = {
  /** The session ended after our `quit`. */
  ok: 0,
  /** Bad arguments, log file or connection failure: the session never started. */
  startFailed: 1,
  /** The server closed the connection without our asking. */
  disconnected: 2,
} as const;

/** Time limits of a session, in milliseconds (shortened by tests). */
export interface SessionTimings {
  /** After the welcome `newidentity`, how long to wait for the rest of the welcome. */
  welcomeSettle: number;
  /** How long to wait for any welcome before sending typed lines anyway. */
  welcomeTimeout: number;
  /** Line mode: how long to wait for the answer to one command before sending the next. */
  replyTimeout: number;
  /** After `quit`, how long to wait for the server to close before closing ourselves. */
  quitTimeout: number;
}

export const defaultTimings: SessionTimings = {
  welcomeSettle: 500,
  welcomeTimeout: 10_000,
  replyTimeout: 2_000,
  quitTimeout: 2_000,
};

export interface SessionOptions {
  socket: Socket;
  streams: UiStreams;
  /** Interactive (prompt, readline) rather than line mode. */
  interactive: boolean;
  /** How the server is named to the user. */
  label: string;
  log: SessionLog;
  timings?: Partial<SessionTimings>;
  maxLineBytes?: number;
}

const END_OF_INPUT = Symbol('end of input');

/**
 * Runs the session until the connection is closed; resolves with the exit code.
 *
 * Typed lines are queued until the server's welcome is complete, then sent in order. In line
 * mode each command waits for its answer (or `replyTimeout`) before the next is sent, so a
 * script's output does not depend on timing; at the end of input `quit` is sent.
 */
export function runSession(options: SessionOptions): Promise<number> {
  return new Promise((resolve) => new Session(options, resolve));
}

class Session {
  private readonly ui: Ui;
  private readonly connection: ServerConnection;
  private readonly timings: SessionTimings;
  private state: ViewState = initialViewState;
  private lastEvent: ServerEvent | null = null;
  private readonly queue: Array<string | typeof END_OF_INPUT> = [];
  /** The welcome is complete: queued lines may be sent. */
  private ready = false;
  /** Line mode: the answer we wait for before sending the next line. */
  private awaiting: ((reply: ServerMessage) => boolean) | null = null;
  private quitting = false;
  private finished = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly options: SessionOptions,
    private readonly resolve: (code: number) => void,
  ) {
    this.timings = { ...defaultTimings, ...options.timings };
    const handlers = {
      line: (text: string) => this.enqueue(text),
      end: () => this.enqueue(END_OF_INPUT),
      interrupt: () => this.interrupt(),
    };
    this.ui = options.interactive
      ? createTerminalUi(options.streams, handlers)
      : createLineUi(options.streams, handlers);
    this.connection = new ServerConnection(
      options.socket,
      { line: (event) => this.onServerLine(event), closed: (error) => this.onClosed(error) },
      options.maxLineBytes,
    );
    options.log.mark(`connected to ${options.label}`);
    this.startTimer('welcome', this.timings.welcomeTimeout, () => {
      this.warn('(no welcome from the server yet: sending anyway)');
      this.becomeReady();
    });
  }

  // --- user side -------------------------------------------------------------------------

  private enqueue(item: string | typeof END_OF_INPUT): void {
    if (this.finished || this.quitting) return;
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.ready && !this.awaiting && !this.quitting && !this.finished && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (item === END_OF_INPUT) this.quit();
      else this.dispatch(item);
    }
  }

  private dispatch(line: string): void {
    this.options.log.typed(line);
    const action = parseInput(line);
    if (action.kind === 'local') {
      for (const text of action.lines) this.show(text);
      return;
    }
    if (action.kind === 'none') return;
    const { message } = action;
    if (message.type === 'quit') {
      this.quit();
      return;
    }
    this.connection.send(message);
    if (this.options.interactive) return;
    this.awaiting = replyMatcher(message, this.state.identity);
    if (this.awaiting) {
      this.startTimer('reply', this.timings.replyTimeout, () => {
        this.awaiting = null;
        this.pump();
      });
    }
  }

  private quit(): void {
    if (this.quitting) return;
    this.quitting = true;
    this.connection.send({ type: 'quit' });
    this.ui.stopInput();
    this.startTimer('quit', this.timings.quitTimeout, () => {
      this.show('Disconnected (the server did not close the connection)');
      this.finish(ExitCode.ok);
    });
  }

  private interrupt(): void {
    if (!this.quitting) {
      this.quit();
    } else {
      this.finish(ExitCode.ok);
    }
  }

  // --- server side -----------------------------------------------------------------------

  private onServerLine(split: SplitEvent): void {
    if (this.finished) return;
    if (split.kind === 'overflow') {
      this.show(`(dropped a server line of ${split.bytes} bytes: too long)`);
      return;
    }
    const event = decodeServerLine(split.text);
    this.lastEvent = event;
    const line = formatServerEvent(event, this.state, this.options.label);
    if (event.kind !== 'known') {
      this.show(line);
      return;
    }
    const message = event.message;
    const before = this.state;
    this.state = applyServerMessage(before, message);
    if (this.state !== before) this.ui.setPrompt(promptFor(this.state));
    this.show(line);

    if (!before.welcomed && this.state.welcomed) {
      // The welcome goes on with roomchange, roomlist, roomcontents; wait for the last of them.
      this.clearTimer('welcome');
      this.startTimer('welcome', this.timings.welcomeSettle, () => this.becomeReady());
    } else if (message.type === 'roomcontents' && this.state.welcomed && !this.ready) {
      this.becomeReady();
    }
    if (this.awaiting && this.awaiting(message)) {
      this.awaiting = null;
      this.clearTimer('reply');
      this.pump();
    }
  }

  private becomeReady(): void {
    this.clearTimer('welcome');
    if (this.ready) return;
    this.ready = true;
    this.pump();
  }

  private onClosed(error: Error | null): void {
    if (this.finished) return;
    let line = formatDisconnect(this.lastEvent);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (error && line === 'Disconnected by server') line += ` (${code ?? error.message})`;
    this.show(line);
    this.finish(this.quitting ? ExitCode.ok : ExitCode.disconnected);
  }

  // --- plumbing --------------------------------------------------------------------------

  private show(line: string): void {
    this.ui.show(line);
    this.options.log.shown(line);
  }

  private warn(line: string): void {
    this.ui.warn(line);
    this.options.log.failed(line);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    this.ui.stopInput();
    this.connection.destroy();
    this.options.log.mark(`session ended, exit code ${code}`);
    this.resolve(code);
  }

  private startTimer(name: string, ms: number, fire: () => void): void {
    this.clearTimer(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        fire();
      }, ms),
    );
  }

  private clearTimer(name: string): void {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
  }
}
