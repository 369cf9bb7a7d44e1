import net from 'node:net';

/**
 * The socket-level steps of an upgrade's hand-off (src/worker/hand-off.ts), on whatever a
 * session's connection is: only a plain `net.Socket` (TCP or Unix, not TLS) can be handed to
 * another process; a TLS socket's encryption state, and a WebSocket's framing state, live in
 * this process's memory.
 */

/** What a session's connection is, as far as a hand-off is concerned. */
export type ConnectionKind = 'plain' | 'tls' | 'websocket' | 'other';

interface RawHandle {
  reading?: boolean;
  readStop?: () => number;
}

export function connectionKind(socket: object): ConnectionKind {
  if ((socket as { encrypted?: boolean }).encrypted === true) return 'tls';
  if ((socket as { framing?: string }).framing === 'messages') return 'websocket';
  if (socket instanceof net.Socket && typeof (handleOf(socket) as RawHandle | null)?.readStop === 'function') return 'plain';
  return 'other';
}

function plain(connection: object): net.Socket {
  if (!(connection instanceof net.Socket)) throw new TypeError('only a net.Socket can be handed to another process');
  return connection;
}

function handleOf(socket: net.Socket): object | null {
  return (socket as unknown as { _handle?: object | null })._handle ?? null;
}

/**
 * Stops reading for good and returns the bytes Node has read but not yet emitted (a paused,
 * throttled socket holds up to its highWaterMark). `pause()` alone lets Node read on until its
 * buffer is full; the handle's readStop() stops it now, so everything not returned here stays
 * in the kernel for the next process. `onData`: the session's listener, removed first.
 */
export function stopReading(connection: object, onData: (chunk: Buffer) => void): Buffer | null {
  const socket = plain(connection);
  socket.off('data', onData);
  socket.pause();
  const handle = handleOf(socket) as RawHandle | null;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  // Take what the stream holds without read() starting the handle again (its _read would).
  (socket as unknown as { _read: () => void })._read = () => {};
  return socket.read() as Buffer | null;
}

/**
 * Lets go of the socket: none of this process's listeners stay on it, and its raw handle (a
 * TCP or Pipe handle, what Node's IPC passes as a descriptor without reading from it) is
 * returned for sending. `closeCopy`, once sent, closes this process's descriptor; the
 * connection stays open in the process that received it.
 */
export function releaseSocket(connection: object): { handle: object | null; closeCopy: () => void } {
  const socket = plain(connection);
  socket.removeAllListeners('data');
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  socket.on('error', () => {});
  return { handle: handleOf(socket), closeCopy: () => socket.destroy() };
}
