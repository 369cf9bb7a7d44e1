import type { ConsoleRequest } from '../core/console';
import type { ConsoleReply } from '../ipc/supervisor-messages';
import { ErrorCode } from '../protocol/errors';
import type { ServerMessage } from '../protocol/messages';
import { MAIN_HALL } from '../protocol/rules';
import { parseClientLine, type ParseLimits } from '../protocol/validate';
import { isStoreError } from '../store/errors';
import { RequestRefused, type HubContext } from './services';
import { storeRefusalCode } from './store-refusal';

/**
 * The hub's side of `switchboard admin notice|disconnect|close-room`: each request is checked
 * as the administrator's own client line would be (same validation, same limits), then
 * decided through the order source like any client's request (`decide`, a `console` outcome),
 * so one node applies it at once and a cluster commits it to its log for every replica.
 *
 * It acts under a key of its own, one per request (`<node>/0:<n>`; worker ids start at 1, so
 * no session has it), and reads what ChatState tells that key: `disconnected`, or the `error`
 * of a refusal, which becomes the reply.
 */
export class HubConsole {
  private next = 1;

  constructor(
    private readonly ctx: HubContext,
    private readonly node: string,
    private readonly parseLimits: () => ParseLimits,
  ) {}

  async handle(request: ConsoleRequest): Promise<ConsoleReply> {
    const parsed = parseClientLine(JSON.stringify(request), this.parseLimits());
    if (!parsed.ok) return { ok: false, code: parsed.code, message: parsed.message };
    const req = parsed.message as ConsoleRequest;
    const { router } = this.ctx;
    const { state } = router;
    if (req.type === 'delete') {
      // The core `delete` answers a refusal with the room list only: said plainly here.
      if (req.roomid === MAIN_HALL) return { ok: false, code: ErrorCode.NOT_ALLOWED, message: `${MAIN_HALL} is never closed` };
      if (state.ownerOf(req.roomid) === undefined) return { ok: false, code: ErrorCode.NO_SUCH_ROOM, message: `no room ${JSON.stringify(req.roomid)}` };
    }
    const key = `${this.node ? `${this.node}/` : ''}0:${this.next++}`;
    const heard: ServerMessage[] = [];
    const stop = router.watch(key, (m) => heard.push(m));
    const before = req.type === 'delete' ? state.membersOf(req.roomid).length : state.sessionCount;
    try {
      await this.ctx.decide(key, { type: 'console', request: req });
    } catch (err) {
      if (err instanceof RequestRefused) return { ok: false, code: err.code, message: err.message };
      if (isStoreError(err)) return { ok: false, code: storeRefusalCode(err), message: (err as Error).message };
      throw err;
    } finally {
      stop();
    }
    const refusal = heard.find((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');
    if (refusal) return { ok: false, code: refusal.code, message: refusal.message };
    switch (req.type) {
      case 'notice':
        return { ok: true, result: { sent: true, clients: before } };
      case 'disconnect':
        return { ok: true, result: { disconnected: req.identity } };
      case 'delete':
        return { ok: true, result: { closed: req.roomid, moved: before } };
    }
  }
}
