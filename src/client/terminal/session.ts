/**
 * One chat session: ties the server connection, the user interface, the client's view state
 * and the transcript together; reconnects when the connection drops and puts the session back
 * as it was; decides when the session ends and with what exit code.
 */
import { runTransfer, type Transfer } from './transfer';
import { COMMAND_NAMES, maskedInput, parseInput, replyMatcher, type InputAction } from './commands';
import { ServerLink } from './connection';
import { Decorator, type LineKind } from './decorate';
import { Delivery } from './delivery';
import { sanitize } from './display-text';
import { formatDisconnect, formatReconnecting, formatRetry, formatServerEvent, httpPortHint, promptFor, shortId, TLS_PORT_HINT } from './format';
import { HistoryPager } from './history-pager';
import { Narrator } from './narrator';
import { mentions, notify, type NotifyMode } from './notify';
import { Pacer } from './pacer';
import { Unread } from './unread';
import type { SplitEvent } from './line-splitter';
import { NamedTimers } from './named-timers';
import { restoreRequests, shouldReconnect, type SessionSnapshot } from './reconnect';
import { ReplyWait, type Answered } from './reply-wait';
import { SessionLogin } from './session-login';
import { defaultTimings, ExitCode, type SessionOptions, type SessionTimings } from './session-options';
import { applyServerMessage, initialViewState, type ViewState } from './state';
import { noTokenStore } from './token-store';
import { createLineUi, createTerminalUi, type LineHandle, type Ui } from './ui';
import { decodeServerLine, type ClientMessage, type HttpListener, type ServerEvent, type ServerMessage } from './wire';

const END_OF_INPUT = Symbol('end of input');

/** A request the session sends itself (auto-login, restoring after a reconnection). */
interface Step {
  message: ClientMessage;
  answered?: Answered;
  /** Its answer (but an error) is not shown: the request is only a way to know something arrived. */
  quiet?: boolean;
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
  /** A connection was welcomed at least once (then a close before a welcome is no TLS port). */
  private everWelcomed = false;
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
  private readonly narrator = new Narrator();
  private readonly pager = new HistoryPager();
  private readonly pacer = new Pacer();
  private readonly unread = new Unread();
  private readonly decorator: Decorator;
  private readonly notifyMode: NotifyMode;
  /** Where each message shown stands on screen, by id: a recall replaces it. */
  private readonly onScreen = new Map<string, { handle: LineHandle; who: string; ts?: number }>();
  /** Names and rooms seen, for Tab completion (bounded). */
  private readonly names = new Set<string>();
  /** A password is being asked for: typed lines wait. `build` makes the request once it is given. */
  private secretWait: { build: (secret: string) => ClientMessage; line: string } | null = null;
  /** The answer to a refused request held back with its refusal (an error may still explain it). */
  private heldAnswer: ServerMessage | null = null;
  /** Requests of the user refused, and lines not understood (line mode: exit code 3). */
  private refusals = 0;
  private inputEnded = false;
  private quitting = false;
  /** Why we quit: told in the last line. */
  private quitReason = 'you quit';
  private finished = false;
  private readonly timers = new NamedTimers();
  /** A `/send` or `/get` under way: typed lines wait behind it (they may depend on it). */
  private transferring = false;
  /** The HTTP listener the server advertised in its `hello` reply on this connection, if any. */
  private http: HttpListener | null = null;
  /** File names by id, from the attachments seen (bounded): `/get ID` saves under the name. */
  private readonly fileNames = new Map<string, string>();
  /** Logged in, and the offline DMs that follow `loggedin` may not all be here yet. */
  private inboxPending = false;
  /** The answer of a quiet step being waited for (not shown). */
  private quietAnswer: ((reply: ServerMessage) => boolean) | null = null;

  constructor(
    private readonly options: SessionOptions,
    private readonly resolve: (code: number) => void,
  ) {
    this.timings = { ...defaultTimings, ...options.timings };
    this.decorator = new Decorator({ timestamps: options.timestamps ?? options.interactive, colour: options.colour ?? false });
    this.notifyMode = options.notify ?? (options.interactive ? 'bell' : 'none');
    this.awaiting = new ReplyWait(this.timers, this.timings.replyTimeout, () => this.pump());
    this.login = new SessionLogin(options.tokens ?? noTokenStore, options.label, {
      show: (line) => this.show(line, 'system'),
      warn: (line) => this.warn(line),
    });
    const handlers = {
      line: (text: string) => this.enqueue(text),
      end: () => this.enqueue(END_OF_INPUT),
      interrupt: () => this.interrupt(),
      pageUp: () => this.enqueue('/more'),
      secretless: (line: string) => {
        const shown = maskedInput(line);
        return shown === line ? null : { shown, kept: shown.replace(/ \*+$/, '') };
      },
      completions: () => [...this.names],
      commandNames: COMMAND_NAMES,
    };
    this.ui = options.interactive
      ? createTerminalUi(options.streams, handlers)
      : createLineUi(options.streams, handlers);
    options.log.mark(`connected to ${options.label}`);
    const attempts = this.timings.reconnectAttempts;
    this.link = new ServerLink(
      options.socket,
      options.reconnect ?? null,
      { initialMs: this.timings.reconnectInitial, maxMs: this.timings.reconnectMax, ...(attempts > 0 ? { maxAttempts: attempts } : {}) },
      {
        opened: (count) => this.onOpened(count),
        line: (event) => this.onServerLine(event),
        closed: (error) => this.onClosed(error),
        retrying: (delay, failed, attempt) => {
          const line = failed ? formatRetry(failed, delay) : formatReconnecting(this.lastEvent, delay, this.state.welcomed);
          this.status(attempts > 0 ? `${line} (attempt ${attempt} of ${attempts})` : line);
        },
        gaveUp: (count, failed) => {
          const why = failed ? ` (last: ${sanitize((failed as NodeJS.ErrnoException).code ?? failed.message)})` : '';
          this.show(`Gave up reconnecting to ${this.options.label} after ${count} attempts${why}.`, 'error');
          this.finish(ExitCode.disconnected);
        },
      },
      options.maxLineBytes,
    );
  }

  // --- user side -------------------------------------------------------------------------

  private enqueue(item: string | typeof END_OF_INPUT): void {
    if (this.finished || this.quitting) return;
    if (this.secretWait && !this.options.interactive) {
      // Line mode: the line after `/login USER` is the password (never logged nor shown).
      this.takeSecret(item === END_OF_INPUT ? null : item);
      if (item !== END_OF_INPUT) return;
    }
    if (item === END_OF_INPUT) this.inputEnded = true;
    if (this.reconnecting && this.queue.length === 0) {
      // Nothing is waiting to be sent: leaving needs no connection.
      if (item === END_OF_INPUT) {
        this.show('Disconnected (end of input while reconnecting)', 'system');
        this.finish(ExitCode.disconnected);
        return;
      }
      const action = parseInput(item);
      if (action.kind === 'send' && action.message.type === 'quit') {
        this.options.log.typed(item);
        this.show('Disconnected (you quit)', 'system');
        this.finish(ExitCode.ok);
        return;
      }
      if (this.options.interactive) this.ui.warn('(not connected: sent once reconnected)');
    }
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.link.isOpen && this.ready && !this.awaiting.waiting && !this.transferring && !this.quitting && !this.finished && !this.secretWait) {
      const step = this.steps.shift();
      if (step) {
        this.sendStep(step);
        continue;
      }
      if (this.restoring) {
        this.restoring = false;
        this.link.settled();
      }
      const item = this.queue[0];
      if (item === undefined) return;
      if (item === END_OF_INPUT) {
        this.queue.shift();
        // Not before the rest of this read is handled: offline messages may have come with the
        // answer that let the input end, and their acknowledgement must go before the quit.
        setImmediate(() => this.quit('end of input'));
        return;
      }
      // Paced to the server's rate limit: a script of many lines is sent as fast as allowed.
      const delay = this.pacer.delay();
      if (delay > 0) {
        if (!this.timers.has('pace')) this.timers.start('pace', delay, () => this.pump());
        return;
      }
      this.queue.shift();
      this.dispatch(item);
    }
  }

  private dispatch(line: string): void {
    this.flushRefusal();
    this.options.log.typed(maskedInput(line));
    if (this.options.interactive) this.unread.readRoom(this.state.room);
    const action = parseInput(line, { room: this.state.room, resolveId: (shown) => this.delivery.ids.resolve(shown) });
    this.act(action, line);
    this.updatePrompt();
  }

  private act(action: InputAction, line: string): void {
    switch (action.kind) {
      case 'none':
        return;
      case 'local':
        for (const text of action.lines) this.show(text, 'plain');
        return;
      case 'error':
        this.refusals++;
        for (const text of action.lines) this.show(text, 'error');
        return;
      case 'transfer':
        this.transfer(action.transfer);
        return;
      case 'view':
        this.view(action.view);
        return;
      case 'secret':
        this.secretWait = { build: action.build, line };
        if (this.options.interactive) {
          void this.ui.askSecret(action.prompt).then((secret) => this.takeSecret(secret));
        } else if (this.queue.length > 0) {
          const next = this.queue.shift()!;
          this.takeSecret(next === END_OF_INPUT ? null : next);
          if (next === END_OF_INPUT) this.queue.unshift(END_OF_INPUT);
        }
        return;
      case 'savedlogin': {
        const token = this.login.forSavedLogin();
        if (token === undefined) {
          this.refusals++;
          this.show(`No saved login for ${this.options.label}: log in with /login USER`, 'error');
          return;
        }
        this.sendUser({ type: 'login', token }, line);
        return;
      }
      case 'send':
        this.sendUser(action.message, line);
        return;
    }
  }

  /** The password asked for is given (null: cancelled); its request goes out. */
  private takeSecret(secret: string | null): void {
    const wait = this.secretWait;
    this.secretWait = null;
    if (!wait) return;
    if (secret === null || secret === '') {
      this.show('No password given: nothing was sent.', 'error');
      this.refusals++;
    } else {
      this.sendUser(wait.build(secret), wait.line);
    }
    this.pump();
  }

  /** Sends a request the user typed; line mode waits for its answer before the next line. */
  private sendUser(message: ClientMessage, line: string): void {
    if (message.type === 'quit') {
      this.quit('you quit');
      return;
    }
    if (message.type === 'logout') this.login.forget(null);
    if (message.type === 'history' || message.type === 'dmhistory') message = this.pager.start(message);
    if (message.type === 'dm') this.unread.dm(message.to, false);
    if (message.type === 'dmhistory') this.unread.readDm(message.with);
    this.send(message);
    this.narrator.sent(message, this.state.identity, line);
    if (this.options.interactive) return;
    this.awaiting.expect(message, this.state.identity);
  }

  /** Runs a file transfer (src/client/terminal/transfer.ts); the typed lines after it wait for it. */
  private transfer(transfer: Transfer): void {
    this.transferring = true;
    void runTransfer(transfer, {
      httpBase: this.httpBase(),
      token: this.login.current,
      nameOf: (id) => this.fileNames.get(id) ?? null,
      show: (line) => this.show(line, 'plain'),
      // Line mode: no passing lines, only the one at the end (a transcript, not a screen).
      progress: this.options.interactive ? (line) => this.status(line) : null,
      send: (message) => {
        this.send(message);
        if (!this.options.interactive) this.awaiting.expect(message, this.state.identity);
      },
      ...(this.options.httpsTrust ? { tls: this.options.httpsTrust } : {}),
    })
      .then((ok) => {
        if (!ok) this.refusals++;
      })
      .finally(() => {
        this.transferring = false;
        this.pump();
      });
  }

  /**
   * Where `/send` and `/get` go: `--http URL`, else the HTTP listener the server advertised, on
   * the host we are connected to; null when it advertised none.
   */
  private httpBase(): string | null {
    if (this.options.httpBase !== undefined) return this.options.httpBase;
    if (this.http === null) return null;
    const host = this.options.httpHost?.() ?? '127.0.0.1';
    return `${this.http.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.http.port}`;
  }

  /** Remembers the names of the files of `messages` (bounded, oldest forgotten first). */
  private rememberFiles(messages: ReadonlyArray<{ attachment?: { id: string; name: string } }>): void {
    for (const { attachment } of messages) {
      if (!attachment) continue;
      this.fileNames.delete(attachment.id);
      this.fileNames.set(attachment.id, attachment.name);
      if (this.fileNames.size > 2000) this.fileNames.delete(this.fileNames.keys().next().value!);
    }
  }

  /** What the session answers from what it knows, or by requests of its own. */
  private view(view: 'dms' | 'blocks' | 'more' | 'online'): void {
    switch (view) {
      case 'dms':
        if (this.inboxPending) {
          // The offline DMs follow `loggedin`, read from the store. The server handles one
          // session's requests in order, each after the one before is done (docs/PROTOCOL.md,
          // "Offline inbox"), and a login is done once its inbox is sent: the answer to a request
          // of ours sent now comes after them. `blocklist` asks for nothing that changes.
          this.sendStepNow({
            message: { type: 'blocklist' },
            quiet: true,
            answered: () => {
              this.inboxPending = false;
              this.showDms();
            },
          });
          return;
        }
        this.showDms();
        return;
      case 'blocks':
        if (this.state.account === '') {
          this.show('Blocks belong to accounts: log in to see or change yours.', 'plain');
        } else {
          // The server's list (stored with the account): shown as its `blocklist` answer is.
          this.sendStepNow({ message: { type: 'blocklist' } });
        }
        return;
      case 'more': {
        const next = this.pager.more();
        if (typeof next === 'string') {
          this.show(next, 'plain');
          return;
        }
        this.sendStepNow({ message: next });
        return;
      }
      case 'online':
        this.show(this.state.account === '' ? 'Who is online, room by room:' : 'Your contacts, then who is online, room by room:', 'plain');
        this.sendStepNow({
          message: { type: 'list' },
          answered: (reply) => {
            if (reply?.type !== 'roomlist') return;
            const rooms = reply.rooms.filter((r) => r.count > 0);
            this.steps.unshift(...rooms.map((r): Step => ({ message: { type: 'who', roomid: r.roomid } })));
          },
        });
        // Logged in: the contact list first (each contact with its presence), where the server has them.
        if (this.state.account !== '') this.sendStepNow({ message: { type: 'contacts', action: 'list' } });
        return;
    }
  }

  /** `/dms`: the conversations of this session, most recent first, with unread counts. */
  private showDms(): void {
    const conversations = this.unread.conversations();
    if (conversations.length === 0) {
      this.show('No direct message conversations yet in this session (/msg USER TEXT starts one).', 'plain');
      return;
    }
    this.show('Direct message conversations (most recent first):', 'plain');
    for (const c of conversations) {
      this.show(`  ${sanitize(c.name)}: ${c.unread === 0 ? 'nothing unread' : `${c.unread} unread`} (/dmhistory ${sanitize(c.name)})`, 'plain');
    }
  }

  /** Sends a request of our own ahead of the typed lines still queued. */
  private sendStepNow(step: Step): void {
    this.steps.unshift(step);
  }

  private quit(reason: string): void {
    if (this.quitting) return;
    this.quitReason = reason;
    if (this.reconnecting) {
      this.show(`Disconnected (${reason})`, 'system');
      this.finish(this.exitAfterQuit());
      return;
    }
    this.quitting = true;
    this.flushRefusal();
    // An acknowledgement still waiting for its timer goes first: after `quit` the server takes
    // nothing more, and the offline messages just shown would come again at the next login.
    if (this.timers.has('ack')) {
      this.timers.clear('ack');
      this.send({ type: 'ack', inbox: this.pendingAck });
    }
    this.send({ type: 'quit' });
    this.ui.stopInput();
    this.timers.start('quit', this.timings.quitTimeout, () => {
      this.show(`Disconnected (${reason}; the server did not close the connection)`, 'system');
      this.finish(this.exitAfterQuit());
    });
  }

  /** Line mode: 3 when a command was refused or not understood; else 0. */
  private exitAfterQuit(): number {
    return !this.options.interactive && this.refusals > 0 ? ExitCode.refused : ExitCode.ok;
  }

  private interrupt(): void {
    if (!this.quitting) {
      this.quit('Ctrl-C');
    } else {
      this.finish(this.exitAfterQuit());
    }
  }

  // --- requests of our own ---------------------------------------------------------------

  private sendStep(step: Step): void {
    this.send(step.message);
    this.narrator.sent(step.message, this.state.identity);
    const answered: Answered | undefined = step.quiet
      ? (reply) => {
          this.quietAnswer = null;
          step.answered?.(reply);
        }
      : step.answered;
    if (step.quiet) this.quietAnswer = replyMatcher(step.message, this.state.identity);
    if (!this.awaiting.expect(step.message, this.state.identity, answered)) answered?.(null);
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
    this.http = null; // this server's, told in its `hello` reply
    this.state = initialViewState;
    this.updatePrompt();
    this.lastEvent = null;
    this.ready = false;
    if (count > 1 && this.snapshot?.lastSeq !== undefined && this.snapshot.room !== '') {
      // Until the resume is complete, that room's messages are held, to be shown in order.
      this.delivery.hold(this.snapshot.room);
    }
    this.timers.start('welcome', this.timings.welcomeTimeout, () => {
      this.warn(`(no welcome from the server yet: sending anyway; if this is a TLS port: ${TLS_PORT_HINT})`);
      this.becomeReady();
    });
  }

  private onServerLine(split: SplitEvent): void {
    if (this.finished) return;
    if (split.kind === 'overflow') {
      this.show(`(dropped a server line of ${split.bytes} bytes: too long)`, 'error');
      return;
    }
    const event = decodeServerLine(split.text);
    this.lastEvent = event;
    if (event.kind !== 'known') {
      if (!this.state.welcomed && event.kind === 'raw' && looksLikeTls(split.text)) {
        // A TLS server answers our plain text with an alert: no use trying again as we are.
        this.show(`The server at ${this.options.label} answered in TLS. ${TLS_PORT_HINT}`, 'error');
        this.finish(ExitCode.startFailed);
        return;
      }
      if (!this.state.welcomed && event.kind === 'raw' && /^HTTP\/\d/.test(split.text)) {
        // An HTTP server's answer (400) to our JSON line: its headers and body are no news.
        this.show(httpPortHint(this.options.serverLabel?.() ?? this.options.label), 'error');
        this.finish(ExitCode.startFailed);
        return;
      }
      this.showAll(formatServerEvent(event, this.state, this.options.label), 'plain');
      return;
    }
    const message = event.message;
    if (message.type === 'dm' && message.inbox !== undefined) this.acknowledge(message.inbox);
    if (!this.delivery.admit(message)) {
      this.answer(message);
      return;
    }
    if (message.type === 'hello') {
      if (message.limits) this.pacer.configure(message.limits.rate, message.limits.burst, message.limits.accountRate);
      this.http = message.http ?? null;
    }
    if (this.quietAnswer?.(message) && message.type !== 'error') {
      this.narrator.consume(message);
      this.answer(message);
      return;
    }
    const paged = this.pager.onReply(message);
    if (paged.kind === 'fetch') {
      // The next page of a long read: sent before anything else, its answer swallowed too.
      this.narrator.consume(message);
      this.steps.unshift({ message: paged.request });
      this.answer(message);
      return;
    }
    const shownMessage = paged.kind === 'done' ? paged.reply : message;
    const before = this.state;
    this.state = applyServerMessage(before, shownMessage);
    if (this.state.welcomed) this.everWelcomed = true;
    const narration = this.narrator.narrate(shownMessage, before.identity, before.room);
    this.timers.clear('refusal');
    for (const line of narration.before ?? []) this.show(line, 'error');
    if (narration.refused) this.refusals++;
    if (narration.deferred) {
      this.timers.start('refusal', this.timings.refusalSettle, () => this.flushRefusal());
    }
    if (narration.resend !== undefined) {
      // Over the server's rate: the line is sent again, after a pause; nothing is lost.
      this.pacer.refused();
      this.queue.unshift(narration.resend);
      if (!this.timers.has('pace')) this.timers.start('pace', Math.max(1, this.pacer.delay()), () => this.pump());
    } else if (narration.lines !== undefined) {
      for (const line of narration.lines) this.show(line, 'error');
    } else {
      this.showMessage(shownMessage, before);
    }
    for (const line of narration.after ?? []) this.show(line, 'system');
    if (paged.kind === 'done') {
      if (paged.atStart) this.show(`(start of the history reached: nothing older)`, 'system');
      else this.show('(/more or PageUp for older messages)', 'system');
    }
    this.delivery.shown(shownMessage);
    this.afterShown(shownMessage, before);
    this.updatePrompt();

    if (!before.welcomed && this.state.welcomed) {
      // The welcome goes on with roomchange, roomlist, roomcontents; wait for the last of them.
      this.timers.clear('welcome');
      this.timers.start('welcome', this.timings.welcomeSettle, () => this.becomeReady());
    } else if (message.type === 'roomcontents' && this.state.welcomed && !this.ready) {
      this.becomeReady();
    }
    // A refusal held back holds the next line too (line mode): its sentence comes first.
    const held = this.heldAnswer;
    this.heldAnswer = null;
    if (narration.deferred) this.heldAnswer = message;
    if (held) this.answer(held);
    if (!narration.deferred) this.answer(message);
  }

  /** A held refusal that no error followed: shown as it is. */
  private flushRefusal(): void {
    this.timers.clear('refusal');
    const sentence = this.narrator.settle();
    if (sentence !== null) this.show(sentence, 'error');
    const held = this.heldAnswer;
    this.heldAnswer = null;
    if (held) this.answer(held);
  }

  /** Shows one server message with its colours, noting where it stands for a recall. */
  private showMessage(message: ServerMessage, before: ViewState): void {
    const lines = formatServerEvent({ kind: 'known', message }, before, this.options.serverLabel?.() ?? this.options.label, this.connections > 1);
    switch (message.type) {
      case 'message': {
        const own = message.identity === before.identity;
        const handle = this.show(lines[0] ?? '', own ? 'own' : 'chat', sanitize(message.identity));
        if (message.id !== undefined) this.place(message.id, handle, message.identity, message.ts);
        return;
      }
      case 'dm': {
        const handle = this.show(lines[0] ?? '', 'dm', '[dm]');
        if (message.id !== undefined) this.place(message.id, handle, message.from, message.ts);
        return;
      }
      case 'history':
      case 'dmhistory': {
        this.show(lines[0] ?? '', 'system');
        message.messages.forEach((m, i) => {
          const who = m.type === 'message' ? m.identity : m.from;
          const handle = this.show(lines[i + 1] ?? '', 'plain');
          if (m.id !== undefined) this.place(m.id, handle, who, m.ts);
        });
        return;
      }
      case 'recalled':
        this.onRecalled(message);
        return;
      case 'error':
        this.showAll(lines, 'error');
        return;
      case 'notice':
        this.showAll(lines, 'notice');
        return;
      default:
        this.showAll(lines, 'system');
    }
  }

  /** Remembers where a message is shown (bounded), for a recall. */
  private place(id: string, handle: LineHandle, who: string, ts: number | undefined): void {
    this.onScreen.delete(id);
    this.onScreen.set(id, { handle, who, ts });
    if (this.onScreen.size > 2000) this.onScreen.delete(this.onScreen.keys().next().value!);
  }

  /**
   * A recall: the recalled line is replaced by a placeholder where it stands (interactive, when
   * still on screen); otherwise a line says which message was recalled.
   */
  private onRecalled(message: Extract<ServerMessage, { type: 'recalled' }>): void {
    const entry = this.onScreen.get(message.id);
    const by = sanitize(message.by);
    const tag = `[${sanitize(shortId(message.id))}]`;
    if (entry) {
      const who = sanitize(entry.who);
      const placeholder = `${who}: (message recalled by ${by}) ${tag}`;
      if (this.ui.replace(entry.handle, this.decorator.decorate(placeholder, 'system').at(-1)!)) return;
      const when = entry.ts !== undefined ? ` of ${formatClock(entry.ts)}` : '';
      const whose = entry.who.toLowerCase() === message.by.toLowerCase() ? 'their' : `${who}'s`;
      this.show(`${by} recalled ${whose} message${when} ${tag}`, 'system');
      return;
    }
    this.show(`${by} recalled message ${tag}${message.roomid === '' ? ' (a direct message)' : ` in ${sanitize(message.roomid)}`}`, 'system');
  }

  /** What a message shown changes besides the screen: unread counts, alerts, names to complete. */
  private afterShown(message: ServerMessage, before: ViewState): void {
    const me = before.identity;
    switch (message.type) {
      case 'message':
        this.rememberName(message.identity);
        this.rememberFiles([message]);
        if (message.identity === me) break;
        if (message.roomid !== undefined || before.room !== '') this.unread.roomMessage(message.roomid ?? before.room);
        if (mentions(message.content, me)) notify(this.notifyMode, this.options.streams.output, `${message.identity} mentioned you`, message.content);
        break;
      case 'dm': {
        const incoming = message.from.toLowerCase() !== me.toLowerCase();
        const other = incoming ? message.from : message.to;
        this.rememberName(other);
        this.rememberFiles([message]);
        this.unread.dm(other, incoming, message.ts);
        if (incoming) notify(this.notifyMode, this.options.streams.output, `Direct message from ${message.from}`, message.content);
        break;
      }
      case 'history':
      case 'dmhistory':
        this.rememberFiles(message.messages);
        break;
      case 'roomcontents':
        for (const id of message.identities) this.rememberName(id);
        break;
      case 'roomlist':
        for (const r of message.rooms) this.rememberName(r.roomid);
        break;
      case 'loggedin':
        this.login.loggedIn(message.identity, message.token);
        this.inboxPending = true;
        break;
      case 'loggedout':
        this.login.loggedOut();
        this.inboxPending = false;
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
  }

  private rememberName(name: string): void {
    if (this.names.size >= 5000) return;
    this.names.add(name);
  }

  /** The prompt, with the unread counts: the client's status line. */
  private updatePrompt(): void {
    const prompt = promptFor(this.state);
    const unread = prompt === '' ? '' : this.unread.summary(this.state.room);
    this.ui.setPrompt(unread === '' ? prompt : prompt.replace(/> $/, ` (unread: ${sanitize(unread)})> `));
  }

  /** Shows the messages held during a resume, in seq order. */
  private releaseHold(): void {
    for (const message of this.delivery.release()) {
      this.showMessage(message, this.state);
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
    for (const name of ['welcome', 'ack', 'pace']) this.timers.clear(name);
    this.flushRefusal();
    this.awaiting.cancel();
    this.narrator.reset();
    this.pager.cancel();

    if (this.quitting) {
      // We asked to leave: the server closing is the answer, not news.
      this.show(`Disconnected (${this.quitReason})`, 'system');
      this.finish(this.exitAfterQuit());
      return;
    }
    const probe = this.options.probeTls;
    if (!this.everWelcomed && this.lastEvent === null && probe) {
      // Closed without a word before any welcome: a full server, or a TLS port that took our
      // plain text for a broken handshake. A TLS handshake of our own tells which.
      void probe().then((tls) => {
        if (this.finished) return;
        if (!tls) {
          this.closedFor(error);
          return;
        }
        this.show(`The server at ${this.options.label} speaks TLS on this port. ${TLS_PORT_HINT}`, 'error');
        this.finish(ExitCode.startFailed);
      });
      return;
    }
    this.closedFor(error);
  }

  /** A connection closed that we did not close: reconnect, or end with the reason. */
  private closedFor(error: Error | null): void {
    let line = formatDisconnect(this.lastEvent, this.state.welcomed);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (error && line === 'Disconnected by server') line += ` (${code ?? error.message})`;
    const nothingToSend = this.inputEnded && !this.queue.some((item) => item !== END_OF_INPUT);
    if (!this.link.canReconnect || !shouldReconnect(this.lastEvent) || nothingToSend) {
      this.show(line, 'error');
      this.finish(ExitCode.disconnected);
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
    this.pacer.take();
    this.link.send(message);
  }

  private show(line: string, kind: LineKind = 'plain', nick?: string): LineHandle {
    this.options.log.shown(line);
    let handle: LineHandle = 0;
    for (const out of this.decorator.decorate(line, kind, nick)) handle = this.ui.show(out);
    return handle;
  }

  private status(line: string): void {
    this.options.log.shown(line);
    this.ui.status(this.decorator.decorate(line, 'system').at(-1)!);
  }

  private showAll(lines: string[], kind: LineKind): void {
    for (const line of lines) this.show(line, kind);
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

/** A TLS record (an alert, 0x15, or a handshake, 0x16, of version 3.x) where a JSON line was expected. */
function looksLikeTls(text: string): boolean {
  return /^[\x15\x16]\x03[\x00-\x04]/.test(text);
}

const formatClock = (ts: number): string => {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};
