import { ErrorCode } from '../protocol/errors';
import type { Account } from '../store/store';
import { RequestRefused, type HubContext } from './services';

/**
 * Name checks shared by the requests that name a user or a room outside the core protocol.
 * An unknown name is refused with a coded error instead of an empty or default answer, as
 * `dm` always did (NO_SUCH_USER): a typo must look like one (issue 9, item 8).
 */

/** The room exists now (MainHall always does), else NO_SUCH_ROOM. */
export function requireRoom(ctx: HubContext, roomid: string): void {
  if (ctx.router.state.ownerOf(roomid) === undefined) throw new RequestRefused(ErrorCode.NO_SUCH_ROOM, `no room ${roomid}`);
}

/** The registered account named `name`, else NO_SUCH_USER. */
export async function requireAccount(ctx: HubContext, name: string): Promise<Account> {
  const account = await ctx.store.getAccount(name);
  if (!account) throw new RequestRefused(ErrorCode.NO_SUCH_USER, `no registered user ${name}`);
  return account;
}
