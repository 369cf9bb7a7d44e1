/**
 * Contact lists and the user search (docs/PROTOCOL.md, "Devices, contacts and presence"):
 * part of the Store interface, kept in its own file. Names are stored spellings of accounts;
 * deleting an account deletes it from every list (a foreign key).
 */

/** What `addContact` did. */
export type AddContactResult = 'added' | 'present' | 'full';

export interface ContactStore {
  /**
   * Adds account `contact` to the contacts of `username` (both as stored), unless the list
   * holds `max` names already ('full'); 'present' when it is on the list already.
   */
  addContact(username: string, contact: string, max: number, at: number): Promise<AddContactResult>;
  /** False when `contact` (as stored) was not on the list. */
  removeContact(username: string, contact: string): Promise<boolean>;
  /** The contacts of `username`, in code-point order. */
  contactsOf(username: string): Promise<string[]>;
  /** The accounts that have `username` among their contacts: who is told of its presence. */
  watchersOf(username: string): Promise<string[]>;
  /**
   * Registered usernames starting with `prefix` in any case (ASCII folding), at most `limit`,
   * in folded order. A prefix holding anything but letters and digits matches nobody.
   */
  searchUsernames(prefix: string, limit: number): Promise<string[]>;
  /** The accounts whose block list names `username` (in any case). */
  blockersOf(username: string): Promise<string[]>;
  /** The contacts of `username` with their status line and do-not-disturb, in code-point order. */
  contactProfiles(username: string): Promise<ContactProfile[]>;
}

/** What the store keeps of a contact's presence (online and away are the chat state's). */
export interface ContactProfile {
  username: string;
  status: string;
  dnd: boolean;
}

/** The folded range [from, to) of names starting with `prefix`, or null when no name can (names are letters and digits). */
export function prefixRange(prefix: string): { from: string; to: string } | null {
  if (!/^[A-Za-z0-9]+$/.test(prefix)) return null;
  const from = prefix.toLowerCase();
  // DEL sorts after every letter and digit.
  return { from, to: `${from}\x7f` };
}
