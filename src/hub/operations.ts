import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { ProcessSampler } from '../ipc/process-figures';
import type { ConsoleReply, SupervisorToChild } from '../ipc/supervisor-messages';
import { ErrorCode } from '../protocol/errors';
import type { Hub } from './hub';

/**
 * The hub's answers to the supervisor's operations messages: its figures for `switchboard
 * status`, the console's requests (`switchboard admin ...`), and a settings reload.
 */
export function serveOperations(hub: Hub, boot: Config, log: Logger, node: string): void {
  let config = boot;
  const sampler = new ProcessSampler();
  const console = hub.makeConsole(node, () => ({ maxJsonDepth: config.maxJsonDepth, maxContentLength: config.maxContentLength }));
  process.on('message', (msg: SupervisorToChild) => {
    switch (msg.type) {
      case 'stats':
        process.send?.({ type: 'stats', id: msg.id, stats: { ...sampler.figures(), clients: hub.sessionCount, rooms: hub.roomCount } });
        return;
      case 'console':
        void console.handle(msg.request).then(
          (reply) => process.send?.({ type: 'console-reply', id: msg.id, reply }),
          (err: Error) => {
            log.error({ err, request: msg.request.type }, 'a console request failed');
            const reply: ConsoleReply = { ok: false, code: ErrorCode.INTERNAL_ERROR, message: 'the hub could not handle this request' };
            process.send?.({ type: 'console-reply', id: msg.id, reply });
          },
        );
        return;
      case 'reload-config':
        config = msg.config;
        log.level = config.logLevel;
        hub.reconfigure(config);
        return;
    }
  });
}
