/**
 * What the app keeps across page loads: the login token, the DM peers talked to, and the last
 * seq read of each room (for unread badges). Behind a tiny key-value interface so node tests
 * use a Map and the browser `localStorage`.
 */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** An in-memory KeyValue (tests; browsers where storage is refused). */
export function memoryStorage(): KeyValue {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

/** The last message read of a room, in its epoch. */
export interface ReadMark {
  epoch: string;
  seq: number;
}

const TOKEN = 'switchboard.token';

/** Typed access to the app's saved data; every read tolerates missing or corrupt entries. */
export class SavedData {
  constructor(private readonly kv: KeyValue) {}

  get token(): string {
    return this.kv.getItem(TOKEN) ?? '';
  }

  set token(value: string) {
    if (value) this.kv.setItem(TOKEN, value);
    else this.kv.removeItem(TOKEN);
  }

  /** DM peers of `user`, most recent first (at most 20). */
  dmPeers(user: string): string[] {
    return this.readJson<string[]>(`switchboard.dmpeers.${user.toLowerCase()}`, []).filter((x) => typeof x === 'string');
  }

  addDmPeer(user: string, peer: string): void {
    const list = this.dmPeers(user).filter((p) => p.toLowerCase() !== peer.toLowerCase());
    list.unshift(peer);
    this.kv.setItem(`switchboard.dmpeers.${user.toLowerCase()}`, JSON.stringify(list.slice(0, 20)));
  }

  readMarks(user: string): Record<string, ReadMark> {
    return this.readJson<Record<string, ReadMark>>(`switchboard.read.${user.toLowerCase()}`, {});
  }

  saveReadMarks(user: string, marks: Record<string, ReadMark>): void {
    this.kv.setItem(`switchboard.read.${user.toLowerCase()}`, JSON.stringify(marks));
  }

  private readJson<T>(key: string, fallback: T): T {
    const text = this.kv.getItem(key);
    if (!text) return fallback;
    try {
      const v = JSON.parse(text) as unknown;
      return v !== null && typeof v === typeof fallback ? (v as T) : fallback;
    } catch {
      return fallback;
    }
  }
}
