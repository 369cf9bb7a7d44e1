import net from 'node:net';

/** Test harness: HTTP/1.1 spoken by hand on a raw connection, where a client library would tidy or refuse what is sent. */

/** A raw HTTP/1.1 answer: its status, lower-cased headers and body. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Every byte a fresh connection to 127.0.0.1:`port` receives until the server closes it, after
 * writing `send` verbatim (nothing when empty). Rejects when the server has not closed it
 * within 10 s.
 */
export function readUntilClosed(port: number, send = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', reject);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`not closed by the server; received ${JSON.stringify(text)}`));
    }, 10_000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    if (send) socket.write(send);
  });
}

/** Splits a raw HTTP/1.1 answer; throws when `text` is not one. */
export function parseAnswer(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no HTTP answer: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4) };
}
