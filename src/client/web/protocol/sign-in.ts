import type { SessionContext } from './session-context';
import type { SavedData } from './storage';
import { fold } from './types';

/** The errors that answer a `login` or `register` (PROTOCOL.md Errors): the sign-in form shows them. */
const SIGN_IN_ERRORS = new Set(['BAD_CREDENTIALS', 'LOGIN_THROTTLED', 'USERNAME_TAKEN', 'INVALID_USERNAME', 'WEAK_PASSWORD']);

/**
 * Signing in: by password, by a new account, or with the saved token (each connection logs in
 * with it again); the form's state (`entered`, `authError`) and the account on the state.
 */
export class SignIn {
  /** Whether the user has passed the sign-in screen (signed in, or chose to stay a guest). */
  entered = false;
  /** The last sign-in error, for the form. */
  authError = '';
  /** Set while the first login with a saved token is under way (its failure shows the sign-in form). */
  private tokenLogin = false;
  /** An account just registered, signed in with once `registered` confirms it. */
  private pendingRegister: { username: string; password: string } | null = null;

  constructor(
    private readonly session: SessionContext,
    private readonly saved: SavedData,
  ) {
    if (saved.token) this.entered = true;
  }

  /** A connection opened: log in with the account's token, if any (a reconnect keeps the form closed on failure). */
  onOpen(reconnect: boolean): void {
    const token = this.session.state.token || this.saved.token;
    if (!token) return;
    this.tokenLogin = !reconnect;
    this.session.send({ type: 'login', token });
  }

  /** Signs in with a password. */
  login(username: string, password: string): void {
    this.authError = '';
    this.entered = false;
    this.session.send({ type: 'login', username, password });
  }

  /** Creates an account, then signs in with it. */
  register(username: string, password: string): void {
    this.authError = '';
    this.pendingRegister = { username, password };
    this.session.send({ type: 'register', username, password });
  }

  /** Continues as a guest, optionally under a chosen name. */
  continueAsGuest(name: string): void {
    if (name && name !== this.session.state.identity) this.session.send({ type: 'identitychange', identity: name });
    this.entered = true;
  }

  /** A `registered`: the account we asked for is signed in with. */
  onRegistered(username: string): void {
    const pending = this.pendingRegister;
    if (pending && fold(pending.username) === fold(username)) {
      this.session.send({ type: 'login', username: pending.username, password: pending.password });
    }
    this.pendingRegister = null;
  }

  /** A `loggedin`: the account and its token (saved for the next page load). */
  onLoggedIn(identity: string, token: string, admin: boolean): void {
    const s = this.session.state;
    s.identity = identity;
    s.username = identity;
    s.token = token;
    s.admin = admin;
    this.saved.token = token;
    this.entered = true;
    this.authError = '';
    this.tokenLogin = false;
  }

  /** A `loggedout`: a guest again, back at the sign-in screen; the token is forgotten. */
  onLoggedOut(): void {
    const s = this.session.state;
    s.username = '';
    s.token = '';
    s.admin = false;
    s.contacts = [];
    this.saved.token = '';
    this.entered = false;
  }

  /**
   * An error that may answer a sign-in. A saved token refused at first login is forgotten
   * quietly (the form shows); other sign-in errors go to the form.
   * @returns true when the error is the form's alone (not to be shown as a toast)
   */
  onError(code: string, message: string): boolean {
    if (!SIGN_IN_ERRORS.has(code)) return false;
    if (this.tokenLogin && code === 'BAD_CREDENTIALS') {
      this.saved.token = '';
      this.session.state.token = '';
      this.entered = false;
      this.tokenLogin = false;
      return true;
    }
    this.pendingRegister = null;
    this.authError = message;
    return !this.entered;
  }
}
