// `switchboard connect` file transfer (src/client/terminal/transfer.ts) against the real server:
// `/send PATH` uploads over the HTTP port and sends the file to the room, where a raw client
// sees the attachment; `/send PATH to USER` sends it as a DM; `/get ID PATH` downloads it,
// byte for byte, with progress lines. Everything listens on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestClient } from '../helpers/client';
import { startServer, type RunningServer } from '../helpers/server';
import { TerminalClient } from '../helpers/terminal-client';

let root: string;
let server: RunningServer;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-files-'));
  server = await startServer({ args: ['--http-port', '0', '--workers', '1'] });
});

after(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

test('/send uploads and sends to the room and as a DM; /get downloads it', { timeout: 60_000 }, async () => {
  const watcher = (await TestClient.welcomed(server.port)).client;
  watcher.send({ type: 'register', username: 'watcher', password: 'pw-watcher-1' });
  await watcher.waitFor((m) => m.type === 'registered');
  watcher.send({ type: 'login', username: 'watcher', password: 'pw-watcher-1' });
  await watcher.waitFor((m) => m.type === 'loggedin');
  const file = path.join(root, 'notes file.txt');
  const content = Buffer.alloc(3 * 1024 * 1024, 'switchboard files\n');
  fs.writeFileSync(file, content);
  const id = createHash('sha256').update(content).digest('hex');
  const out = path.join(root, 'copy.txt');
  const client = TerminalClient.start(`127.0.0.1:${server.port}`, ['--http', `http://127.0.0.1:${server.httpPort}`], {
    input: ['/send nothing.txt', '/register carol pw-carol-1', '/login carol pw-carol-1', `/send ${file}`, `/send ${file} to watcher`, `/get ${id} ${out}`, '/quit', ''].join('\n'),
  });
  await client.next(/Files need an account/);
  await client.next(/Uploading notes file\.txt: 100% \(3\.0 MiB of 3\.0 MiB\)/);
  const seen = await watcher.waitFor((m) => m.type === 'message' && m.identity === 'carol');
  assert.deepEqual(seen.attachment, { id, name: 'notes file.txt', size: content.length, type: 'text/plain', thumbnail: false });
  await client.next(new RegExp(`carol: \\[file notes file\\.txt, 3\\.0 MiB, text/plain: ${id}\\]`));
  const dm = await watcher.waitFor((m) => m.type === 'dm' && m.from === 'carol');
  assert.equal((dm.attachment as { id: string }).id, id);
  await client.next(/Downloading copy\.txt: 100%/);
  await client.next(new RegExp(`Saved ${out.replace(/[.]/g, '\\.')}`));
  assert.equal(await client.exited, 0, client.stderr);
  assert.ok(fs.readFileSync(out).equals(content), 'the same bytes');
  await watcher.close();
});
