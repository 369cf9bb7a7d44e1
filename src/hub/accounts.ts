import { LoginThrottle } from '../auth/login-throttle';
import { DECOY_HASH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword, verifyPassword } from '../auth/password';
import { hashToken, newToken } from '../auth/tokens';
import { NO_ONE, type SessionKey } from '../core/effects';
import { ErrorCode } from '../protocol/errors';
import { foldName, isValidIdentity } from '../protocol/rules';
import type { Administrators } from './administrators';
import type { DirectMessages } from './direct-messages';
import type { PresenceService } from './presence';
import { RequestRefused, requireLogin, type HubContext } from './services';

const FAILURE_WINDOW_MS = 15 * 60_000;

/** register, login (password or token), logout. */
export class Accounts {
  private readonly perAccount = new LoginThrottle(5, FAILURE_WINDOW_MS);
  private readonly perAddress = new LoginThrottle(20, FAILURE_WINDOW_MS);

  constructor(
    private readonly ctx: HubContext,
    private readonly directs: DirectMessages,
    private readonly admins: Administrators,
    private readonly presence?: PresenceService,
  ) {}

  async register(key: SessionKey, username: string, password: string): Promise<void> {
    const { state } = this.ctx.router;
    if (!isValidIdentity(username)) throw new RequestRefused(ErrorCode.INVALID_USERNAME, 'a username is a letter then 2 to 15 letters or digits');
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      throw new RequestRefused(ErrorCode.WEAK_PASSWORD, `a password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
    }
    // Registered (in any case), connected as by someone else, or held for a dropped session.
    const taken = (): boolean => state.nameTaken(username, key);
    if (taken()) throw new RequestRefused(ErrorCode.USERNAME_TAKEN, `${username} is taken`);
    const passwordHash = await hashPassword(password);
    if (taken()) throw new RequestRefused(ErrorCode.USERNAME_TAKEN, `${username} is taken`);
    const created = await this.ctx.store.createAccount({ username, passwordHash, createdAt: Date.now(), status: '', dnd: false });
    if (!created) throw new RequestRefused(ErrorCode.USERNAME_TAKEN, `${username} is taken`);
    // Only the store's winner gets here: of two nodes racing for a name, one reserves it.
    await this.ctx.decide(key, { type: 'reserve', usernames: [username] });
    this.ctx.router.sendTo(key, { type: 'registered', username });
  }

  async login(key: SessionKey, request: { username?: string; password?: string; token?: string }): Promise<void> {
    const { router, store } = this.ctx;
    const address = `addr:${router.extrasOf(key)?.address ?? ''}`;
    if (!this.perAddress.allows(address)) throw new RequestRefused(ErrorCode.LOGIN_THROTTLED, 'too many failed logins from your address; wait a while');
    let username: string | null;
    let token: string;
    if (request.token !== undefined) {
      token = request.token;
      username = await store.findToken(hashToken(token));
      if (!username) {
        this.perAddress.fail(address);
        throw new RequestRefused(ErrorCode.BAD_CREDENTIALS, 'unknown or revoked token');
      }
    } else {
      const account = `user:${foldName(request.username!)}`;
      if (!this.perAccount.allows(account)) throw new RequestRefused(ErrorCode.LOGIN_THROTTLED, 'too many failed logins for this account; wait a while');
      // Usernames are case-insensitive: any spelling logs in as the account, under its stored spelling.
      const stored = await store.getAccount(request.username!);
      // Hash even for an unknown name, so the answer's timing does not say which names exist.
      const ok = await verifyPassword(request.password!, stored?.passwordHash ?? DECOY_HASH);
      if (!stored || !ok) {
        this.perAccount.fail(account);
        this.perAddress.fail(address);
        throw new RequestRefused(ErrorCode.BAD_CREDENTIALS, 'wrong username or password');
      }
      this.perAccount.succeed(account);
      username = stored.username;
      token = newToken();
      await store.addToken(hashToken(token), username, Date.now());
    }
    const extras = router.extrasOf(key);
    if (!extras) return; // gone while we checked
    extras.tokenHash = hashToken(token);
    extras.blocked = new Set(await store.blockedBy(username));
    const admin = await this.admins.isAdmin(username);
    // (The login effects below mirror both to the worker, which hands them back after a hub restart.)
    if (!router.state.has(key)) return;
    // One more device of the account; past maxDevices its oldest is closed on whichever node
    // holds it (SESSION_REPLACED, told by that node).
    await this.ctx.decide(key, { type: 'login', username, admin });
    router.sendTo(key, { type: 'loggedin', identity: username, token, admin });
    // The contacts' presence, then what waited in the inbox.
    await this.presence?.sendContacts(key, username);
    await this.directs.deliverInbox(key, username);
  }

  async logout(key: SessionKey): Promise<void> {
    const { router, store } = this.ctx;
    requireLogin(this.ctx, key);
    const extras = router.extrasOf(key);
    if (extras?.tokenHash) await store.revokeToken(extras.tokenHash);
    if (extras) {
      extras.tokenHash = null;
      extras.blocked = NO_ONE;
      extras.inbox = undefined;
    }
    await this.ctx.decide(key, { type: 'logout' });
    router.sendTo(key, { type: 'loggedout', identity: router.state.identityOf(key) ?? '' });
  }
}
