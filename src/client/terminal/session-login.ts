/**
 * The login of a session: the token to log in again with after a reconnection, and the login
 * saved for this server in the token store, kept in step with what the server answers.
 */
import type { TokenStore } from './token-store';
import type { ServerMessage } from './wire';

/** Where the login tells the user what it did or failed to do. */
export interface LoginNotes {
  show(line: string): void;
  warn(line: string): void;
}

export class SessionLogin {
  /** The token of our login, for logging in again after a reconnection. */
  private token: string | null = null;

  /** @param label how the server is named to the user */
  constructor(
    private readonly tokens: TokenStore,
    private readonly label: string,
    private readonly notes: LoginNotes,
  ) {}

  /** The token of our current login, or null for a guest. */
  get current(): string | null {
    return this.token;
  }

  /** The token saved for this server, if any. */
  saved(): string | undefined {
    return this.tokens.load()?.token;
  }

  /** The token `#login` alone logs in with: our current one, else the saved one. */
  forSavedLogin(): string | undefined {
    return this.token ?? this.saved();
  }

  /** We are logged in as `username`: the login is saved for next time. */
  loggedIn(username: string, token: string): void {
    this.token = token;
    try {
      this.tokens.save({ username, token });
    } catch (err) {
      this.notes.warn(`(could not save the login: ${(err as Error).message})`);
    }
  }

  loggedOut(): void {
    this.token = null;
  }

  /** The answer to a login with `token`: a refused token is of no use, so it is forgotten. */
  answered(token: string, reply: ServerMessage | null): void {
    if (reply?.type !== 'error' || reply.code !== 'BAD_CREDENTIALS') return;
    // Revoked or expired.
    if (this.token === token) this.token = null;
    if (this.saved() === token) this.forget(`(the login saved for ${this.label} was refused: forgotten)`);
  }

  /** Forgets the login, the saved one too; `note` is shown once it is removed. */
  forget(note: string | null): void {
    this.token = null;
    try {
      this.tokens.remove();
      if (note) this.notes.show(note);
    } catch (err) {
      this.notes.warn(`(could not remove the saved login: ${(err as Error).message})`);
    }
  }
}
