import type { ConsoleRequest } from '../core/console';
import { ControlCode, ControlError, type ControlRequest } from '../ipc/control-protocol';
import type { ReloadReport } from './reload-settings';
import type { StatusReport } from './status';

/**
 * What the control socket's handlers may ask of the supervisor. A new op that needs more adds
 * a method here (implemented in src/supervisor/control-host.ts) and an entry in CONTROL_OPS.
 */
export interface ControlHost {
  /** Processes, listeners, counts and rates (`switchboard status`). */
  status(): Promise<StatusReport>;
  /** An administrator's request made by the operator, through the hub's ordered path; what it did. Throws ControlError on a refusal. */
  console(request: ConsoleRequest): Promise<Record<string, unknown>>;
  /** Reads the config file again and applies what can change live (`switchboard reload`, SIGHUP). */
  reload(): Promise<ReloadReport>;
}

/** One op: its arguments are the request's other fields; its result becomes the reply's `result`. Throws ControlError to refuse. */
export type ControlHandler = (request: ControlRequest, host: ControlHost) => Promise<unknown>;

/**
 * The control socket's ops, by name. A Map, so that a request's `op` can only ever name one of
 * these (never an inherited property such as "constructor").
 */
export const CONTROL_OPS: ReadonlyMap<string, ControlHandler> = new Map<string, ControlHandler>([
  ['status', (_, host) => host.status()],
  ['notice', (r, host) => host.console({ type: 'notice', content: text(r, 'text') })],
  [
    'disconnect',
    (r, host) => host.console(r.reason === undefined ? { type: 'disconnect', identity: text(r, 'user') } : { type: 'disconnect', identity: text(r, 'user'), reason: text(r, 'reason') }),
  ],
  ['close-room', (r, host) => host.console({ type: 'delete', roomid: text(r, 'room') })],
  ['reload', (_, host) => host.reload()],
]);

/** The string argument `name` of a request, or BAD_REQUEST. */
export function text(request: ControlRequest, name: string): string {
  const value = request[name];
  if (typeof value !== 'string') throw new ControlError(ControlCode.BAD_REQUEST, `"${request.op}" needs "${name}": a string`);
  return value;
}
