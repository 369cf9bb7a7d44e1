import http from 'node:http';

/**
 * A whole HTTP/1.1 answer that refuses a request and closes the connection, as one string to
 * write to a raw socket: `status`, `Connection: close`, the extra `headers`, and the JSON body
 * `{"error": code, "message": message}` every HTTP error of the server has (docs/PROTOCOL.md).
 * For the places with no `http.ServerResponse`: a refused WebSocket upgrade or a bad request in
 * the worker's gateway, and a connection the supervisor refuses before a byte of it is read
 * (an early answer is legal HTTP/1.1; the client reads it when it reads its response).
 *
 * @example
 * socket.end(closingJsonAnswer(503, 'TOO_MANY_USERS', 'too many users; try again later', { 'Retry-After': '5' }));
 */
export function closingJsonAnswer(status: number, code: string, message: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: code, message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
    'Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n${extra}\r\n${body}`
  );
}
