/**
 * Requests an operator makes of the running server through its control socket
 * (`switchboard admin notice|disconnect|close-room`): the administrator's protocol requests
 * `notice`, `disconnect` and `delete` (docs/PROTOCOL.md, "Roles and moderation"), made by no
 * session. ChatState applies them as an administrator that is not connected
 * (`ChatState.administer`), through the same order source as a client's, so a cluster
 * replicates them.
 */
export type ConsoleRequest =
  | { type: 'notice'; content: string }
  | { type: 'disconnect'; identity: string; reason?: string }
  | { type: 'delete'; roomid: string };

/**
 * Who the console acts as: `from` of its notices, `by` of what it does. Not a possible
 * identity (src/protocol/rules.ts), so no client can go by it or be taken for it.
 */
export const CONSOLE_IDENTITY = '(server)';
