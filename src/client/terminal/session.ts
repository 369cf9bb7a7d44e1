/**
 * One chat session: ties the server connection, the user interface, the client's view state
 * and the transcript together; reconnects when the connection drops and puts the session back
 * as it was; decides when the session ends and with what exit code.
 */
import { DEFAULT_HTTP_PORT, runTransfer, type Transfer } from './transfer';
import { loggableInput, parseInput } from './commands';
import { ServerLink } from './connection';
import { Delivery } from './delivery';
import { formatDisconnect, formatReconnecting, formatRetry, formatServerEvent, promptFor } from './format';
import type { SplitEvent } from './line-splitter';
import { NamedTimers } from './named-timers';
import { restoreRequests, shouldReconnect, type SessionSnapshot } from './reconnect';
import { ReplyWait, type Answered } from './reply-wait';
import { SessionLogin } from './session-login';
import { defaultTimings, ExitCode, type SessionOptions, type SessionTimings } from './session-options';
import { applyServerMessage, initialViewState, type ViewState } from './state';
import { noTokenStore } from './token-store';
import { createLineUi, createTerminalUi, type Ui } from './ui';
import { decodeServerLine, type ClientMessage, type ServerEvent, type ServerMessage } from './wire';

const END_OF_INPUT = Symbol('end of input');

/** A request the session sends itself (auto-login, restoring after a reconnection). */
interface Step {
  message: ClientMessage;
  answered?: Answered;
}

/**
 * Runs the session until it ends; resolves with the exit code.
 *
 * Typed lines are queued until the server's welcome is complete (and, after a reconnection,
 * until the session is restored), then sent in order. In line mode each command waits for its
 * answer (or `replyTimeout`) before the next is sent, so a script's output does not depend on
 * timing; at the end of input `quit` is sent.
 */
export function runSession(options: SessionOptions): Promise<number> {
  return new Promise((resolve) => new Session(options, resolve));
}

class Session {
  private readonly ui: Ui;
  private readonly timings: SessionTimings;
  private readonly login: SessionLogin;
  private readonly link: ServerLink;
  /** Connections opened so far (1 for the first). */
  private connections = 0;
  private state: ViewState = initialViewState;
  private lastEvent: ServerEvent | null = null;
  private readonly queue: Array<string | typeof END_OF_INPUT> = [];
  /** The welcome of the current connection is complete: steps and queued lines may be sent. */
  private ready = false;
  /** Requests of our own to send before the user's lines. */
  private steps: Step[] = [];
  /** The answer we wait for before sending the next step or (line mode) line. */
  private readonly awaiting: ReplyWait;
  /** What to restore on the next connection; set when a connection drops. */
  private snapshot: SessionSnapshot | null = null;
  /** The connection dropped and another is being opened. */
  private reconnecting = false;
  /** This connection's resume token, once the server gave it (`session`): reclaimed after a drop. */
  private resumeToken: string | null = null;
  /** Restoring after a reconnection: the snapshot is what the session should be. */
  private restoring = false;
  /** The highest inbox number shown and not yet acknowledged. */
  private pendingAck = 0;
  private readonly delivery = new Delivery();
  private inputEnded = false;
  private quitting = false;
  private finished = false;
  private readonly timers = new NamedTimers();
  /** A `/send` or `/get` under way: typed lines wait behind it (they may depend on it). */
  private transferring = false;

  constructor(
    private readonly options: SessionOptions,
    private readonly resolve: (code: number) => void,
  ) {
    this.timings = { ...defaultTimings, ...options.timings };
    this.awaiting = new ReplyWait(this.timers, this.timings.replyTimeout, () => this.pump());
    this.login = new SessionLogin(options.tokens ?? noTokenStore, options.label, {
      show: (line) => this.show(line),
      warn: (line) => this.warn(line),
    });
    const handlers = {
      line: (text: string) => this.enqueue(text),
      end: () => this.enqueue(END_OF_INPUT),
      interrupt: () => this.interrupt(),
    };
    this.ui = options.interactive
      ? createTerminalUi(options.streams, handlers)
      : createLineUi(options.streams, handlers);
    options.log.mark(`connected to ${options.label}`);
    this.link = new ServerLink(
      options.socket,
      options.reconnect ?? null,
      { initialMs: this.timings.reconnectInitial, maxMs: this.timings.reconnectMax },
      {
        opened: (count) => this.onOpened(count),
        line: (event) => this.onServerLine(event),
        closed: (error) => this.onClosed(error),
        retrying: (delay, failed) =>
          this.show(failed ? formatRetry(failed, delay) : formatReconnecting(this.lastEvent, delay, this.state.welcomed)),
      },
      options.maxLineBytes,
    );
  }

  // --- user side -------------------------------------------------------------------------

  private enqueue(item: string | typeof END_OF_INPUT): void {
    if (this.finished || this.quitting) return;
    if (item === END_OF_INPUT) this.inputEnded = true;
    if (this.reconnecting && this.queue.length === 0) {
      // Nothing is waiting to be sent: leaving needs no connection.
      if (item === END_OF_INPUT) {
        this.show('Disconnected (end of input while reconnecting)');
        this.finish(ExitCode.disconnected);
        return;
      }
      const action = parseInput(item);
      if (action.kind === 'send' && action.message.type === 'quit') {
        this.options.log.typed(item);
        this.show('Disconnected');
        this.finish(ExitCode.ok);
        return;
      }
      if (this.options.interactive) this.ui.warn('(not connected: sent once reconnected)');
    }
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.link.isOpen && this.ready && !this.awaiting.waiting && !this.transferring && !this.quitting && !this.finished) {
      const step = this.steps.shift();
      if (step) {
        this.sendStep(step);
        continue;
      }
      if (this.restoring) {
        this.restoring = false;
        this.link.settled();
      }
      const item = this.queue.shift();
      if (item === undefined) return;
      if (item === END_OF_INPUT) {
        // Not before the rest of this read is handled: offline messages may have come with the
        // answer that let the input end, and their acknowledgement must go before the quit.
        setImmediate(() => this.quit());
        return;
      }
      this.dispatch(item);
    }
  }

  private dispatch(line: string): void {
    this.options.log.typed(loggableInput(line));
    const action = parseInput(line, { room: this.state.room, resolveId: (shown) => this.delivery.ids.resolve(shown) });
    if (action.kind === 'local') {
      for (const text of action.lines) this.show(text);
      return;
    }
    if (action.kind === 'none') return;
    if (action.kind === 'transfer') return this.transfer(action.transfer);
    let message: ClientMessage;
    if (action.kind === 'savedlogin') {
      const token = this.login.forSavedLogin();
      if (token === undefined) {
        this.show(`No saved login for ${this.options.label}`);
        return;
      }
      message = { type: 'login', token };
    } else {
      message = action.message;
    }
    if (message.type === 'quit') {
      this.quit();
      return;
    }
    if (message.type === 'logout') this.login.forget(null);
    this.send(message);
    if (this.options.interactive) return;
    this.awaiting.expect(message, this.state.identity);
  }

  /** Runs a file transfer (src/client/terminal/transfer.ts); the typed lines after it wait for it. */
  private transfer(transfer: Transfer): void {
    this.transferring = true;
    void runTransfer(transfer, {
      httpBase: this.options.httpBase ?? `http://127.0.0.1:${DEFAULT_HTTP_PORT}`,
      token: this.login.current,
      show: (line) => this.show(line),
      send: (message) => {
        this.send(message);
        if (!this.options.interactive) this.awaiting.expect(message, this.state.identity);
      },
    }).finally(() => {
      this.transferring = false;
      this.pump();
    });
  }

  private quit(): void {
    if (this.quitting) return;
    if (this.reconnecting) {
      this.show('Disconnected');
      this.finish(ExitCode.ok);
      return;
    }
    this.quitting = true;
    // An acknowledgement still waiting for its timer goes first: after `quit` the server takes
    // nothing more, and the offline messages just shown would come again at the next login.
    if (this.timers.has('ack')) {
      this.timers.clear('ack');
      this.send({ type: 'ack', inbox: this.pendingAck });
    }
    this.send({ type: 'quit' });
    this.ui.stopInput();
    this.timers.start('quit', this.timings.quitTimeout, () => {
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

  // --- requests of our own ---------------------------------------------------------------

  private sendStep(step: Step): void {
    this.send(step.message);
    if (!this.awaiting.expect(step.message, this.state.identity, step.answered)) step.answered?.(null);
  }

  /**
   * What to send once a connection is welcomed: putting the session back after a reconnection,
   * or the saved login; then, when the connection may be reopened, asking for its resume token.
   */
  private plan(): Step[] {
    const askToken: Step[] = this.link.canReconnect ? [{ message: { type: 'session' } }] : [];
    return [...this.restoreOrLogin(), ...askToken];
  }

  private restoreOrLogin(): Step[] {
    if (this.connections > 1 && this.snapshot) {
      return restoreRequests(this.snapshot).map((message): Step => {
        if (message.type === 'login' && 'token' in message) {
          return { message, answered: (reply) => this.login.answered(message.token, reply) };
        }
        if (message.type === 'join') return { message, answered: (reply) => this.onRejoin(message.roomid, reply) };
        if (message.type === 'resume') return { message, answered: () => this.releaseHold() };
        return { message };
      });
    }
    if (this.connections === 1 && this.options.autoLogin) {
      const token = this.login.saved();
      if (token !== undefined) {
        const message: ClientMessage = { type: 'login', token };
        return [{ message, answered: (reply) => this.login.answered(token, reply) }];
      }
    }
    return [];
  }

  /**
   * The answer to going back to our room after a reconnection. The room may have turned us
   * away meanwhile (made private, or we were banned): then what was said there is no longer
   * ours to see, and its replay is not asked for.
   */
  private onRejoin(roomid: string, reply: ServerMessage | null): void {
    const refused = reply?.type === 'error' || (reply?.type === 'roomchange' && reply.roomid !== roomid);
    if (!refused) return;
    this.steps = this.steps.filter((step) => step.message.type !== 'resume');
    this.delivery.discard();
  }

  // --- server side -----------------------------------------------------------------------

  private onOpened(count: number): void {
    // First of all: we read every message type, not only seed 004's (docs/PROTOCOL.md).
    this.send({ type: 'hello', capabilities: ['extended'] });
    this.connections = count;
    this.reconnecting = false;
    this.state = initialViewState;
    this.ui.setPrompt(promptFor(this.state));
    this.lastEvent = null;
    this.ready = false;
    if (count > 1 && this.snapshot?.lastSeq !== undefined && this.snapshot.room !== '') {
      // Until the resume is complete, that room's messages are held, to be shown in order.
      this.delivery.hold(this.snapshot.room);
    }
    this.timers.start('welcome', this.timings.welcomeTimeout, () => {
      this.warn('(no welcome from the server yet: sending anyway)');
      this.becomeReady();
    });
  }

  private onServerLine(split: SplitEvent): void {
    if (this.finished) return;
    if (split.kind === 'overflow') {
      this.show(`(dropped a server line of ${split.bytes} bytes: too long)`);
      return;
    }
    const event = decodeServerLine(split.text);
    this.lastEvent = event;
    if (event.kind !== 'known') {
      this.showAll(formatServerEvent(event, this.state, this.options.label));
      return;
    }
    const message = event.message;
    if (message.type === 'dm' && message.inbox !== undefined) this.acknowledge(message.inbox);
    if (!this.delivery.admit(message)) {
      this.answer(message);
      return;
    }
    const before = this.state;
    this.state = applyServerMessage(before, message);
    if (this.state !== before) this.ui.setPrompt(promptFor(this.state));
    this.showAll(formatServerEvent(event, before, this.options.serverLabel?.() ?? this.options.label, this.connections > 1));
    this.delivery.shown(message);

    switch (message.type) {
      case 'loggedin':
        this.login.loggedIn(message.identity, message.token);
        break;
      case 'loggedout':
        this.login.loggedOut();
        break;
      case 'resumed':
        if (message.epoch !== undefined) this.delivery.noteEpoch(message.roomid, message.epoch);
        if (this.delivery.holding === message.roomid) this.releaseHold();
        break;
      case 'session':
        this.resumeToken = message.token;
        break;
      default:
        break;
    }

    if (!before.welcomed && this.state.welcomed) {
      // The welcome goes on with roomchange, roomlist, roomcontents; wait for the last of them.
      this.timers.clear('welcome');
      this.timers.start('welcome', this.timings.welcomeSettle, () => this.becomeReady());
    } else if (message.type === 'roomcontents' && this.state.welcomed && !this.ready) {
      this.becomeReady();
    }
    this.answer(message);
  }

  /** Shows the messages held during a resume, in seq order. */
  private releaseHold(): void {
    for (const message of this.delivery.release()) {
      this.showAll(formatServerEvent({ kind: 'known', message }, this.state, this.options.label));
      this.delivery.shown(message);
    }
  }

  /** Acknowledges inbox deliveries once per burst, with the highest number. */
  private acknowledge(inbox: number): void {
    if (this.timers.has('ack')) {
      this.pendingAck = Math.max(this.pendingAck, inbox);
      return;
    }
    this.pendingAck = inbox;
    // After the burst has been shown: the lines of one read are handled before timers run.
    this.timers.start('ack', 0, () => this.send({ type: 'ack', inbox: this.pendingAck }));
  }

  private answer(message: ServerMessage): void {
    if (this.awaiting.answer(message)) this.pump();
  }

  private becomeReady(): void {
    this.timers.clear('welcome');
    if (this.ready) return;
    this.ready = true;
    this.steps = this.plan();
    this.pump();
  }

  private onClosed(error: Error | null): void {
    if (this.finished) return;
    this.ready = false;
    this.steps = [];
    this.delivery.discard(); // not shown, so not seen: the next resume asks for them again
    for (const name of ['welcome', 'ack']) this.timers.clear(name);
    this.awaiting.cancel();

    let line = formatDisconnect(this.lastEvent, this.state.welcomed);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (error && line === 'Disconnected by server') line += ` (${code ?? error.message})`;
    const nothingToSend = this.inputEnded && !this.queue.some((item) => item !== END_OF_INPUT);
    if (this.quitting || !this.link.canReconnect || !shouldReconnect(this.lastEvent) || nothingToSend) {
      this.show(line);
      this.finish(this.quitting ? ExitCode.ok : ExitCode.disconnected);
      return;
    }
    // What to come back to: as the session is now, or, if it dropped again while being
    // restored, as it was meant to be.
    const room = this.restoring && this.snapshot ? this.snapshot.room : this.state.room;
    this.snapshot = { token: this.login.current, resumeToken: this.resumeToken, room, lastSeq: this.delivery.lastSeq(room), epoch: this.delivery.epochOf(room) };
    this.resumeToken = null;
    this.restoring = true;
    this.reconnecting = true;
    this.ui.setPrompt('');
    this.link.reconnect();
  }

  // --- plumbing --------------------------------------------------------------------------

  private send(message: ClientMessage): void {
    this.link.send(message);
  }

  private show(line: string): void {
    this.ui.show(line);
    this.options.log.shown(line);
  }

  private showAll(lines: string[]): void {
    for (const line of lines) this.show(line);
  }

  private warn(line: string): void {
    this.ui.warn(line);
    this.options.log.failed(line);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.timers.clearAll();
    this.ui.stopInput();
    this.link.end();
    this.options.log.mark(`session ended, exit code ${code}`);
    this.resolve(code);
  }
}
