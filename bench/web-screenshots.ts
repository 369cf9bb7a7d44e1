/**
 * Screenshots of the web app's main views for the README (docs/screenshots/*.png): a real
 * server (`--http-port 0`, a temporary data dir), terminal-protocol clients playing the other
 * users, and headless Chromium (the Debian package) as the user. Run: `npm run screenshots`.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { AppPage, chromiumAvailable, launchChromium } from '../test/helpers/browser';
import { TestClient, type Msg } from '../test/helpers/client';
import { startServer } from '../test/helpers/server';

const OUT = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const PASSWORD = 'correct horse';

/** A TCP user: registered, logged in, and in `room` if given (created when missing). */
async function user(port: number, name: string, room?: string): Promise<TestClient> {
  const { client } = await TestClient.welcomed(port);
  client.send({ type: 'register', username: name, password: PASSWORD });
  await client.waitFor((m) => m.type === 'registered' || m.type === 'error');
  client.send({ type: 'login', username: name, password: PASSWORD });
  await client.waitFor((m) => m.type === 'loggedin');
  if (room) {
    client.send({ type: 'createroom', roomid: room });
    await client.waitFor((m) => m.type === 'roomlist');
    client.send({ type: 'join', roomid: room });
    await client.waitFor((m) => m.type === 'roomchange' && m.roomid === room);
  }
  return client;
}

async function say(c: TestClient, content: string): Promise<void> {
  c.send({ type: 'message', content });
  await c.waitFor((m: Msg) => m.type === 'message' && m.content === content);
}

/** A small PNG made here (a gradient "photo"), for an image attachment without a fixture file. */
function demoPng(width: number, height: number): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const o = y * (width * 3 + 1) + 1 + x * 3;
      const sky = y < height * 0.62;
      raw[o] = sky ? 90 + (y * 100) / height : 40 + (x * 60) / width;
      raw[o + 1] = sky ? 150 + (y * 80) / height : 110 + (y * 40) / height;
      raw[o + 2] = sky ? 230 : 60;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8);
  ihdr.writeUInt8(2, 9);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error('Chromium is not installed at /usr/bin/chromium (apt-get install chromium)');
  fs.mkdirSync(OUT, { recursive: true });
  const server = await startServer({ args: ['--http-port', '0', '--workers', '1'] });
  const browser = await launchChromium();
  try {
    const url = `http://127.0.0.1:${server.httpPort}/`;
    const room = 'Design';
    const bob = await user(server.port, 'bob', room);
    const carol = await user(server.port, 'carol', room);
    bob.send({ type: 'status', text: 'Reviewing mockups' });
    await user(server.port, 'alice');
    await say(bob, 'Morning! The new onboarding mockups are up on the wiki.');
    await say(carol, 'Nice. I left a few comments on the sign-up step.');
    await say(bob, 'Thanks, looking now.');
    await say(carol, 'Can we keep the guest option on the first screen? People like trying it first.');

    const alice = await AppPage.open(browser, url, { width: 1100, height: 680 });
    await alice.page.screenshot({ path: path.join(OUT, 'sign-in.png') });
    await alice.signIn('alice', PASSWORD);
    await alice.joinRoom(room);
    await alice.say('Agreed: guest first, account later. I will update the flow today.');
    await say(bob, 'Sounds good. Standup in 10 minutes?');
    // An image, when the server has the files feature (web-files): sent as the browser would.
    const file = path.join(path.dirname(OUT), '..', 'dist', 'demo-photo.png');
    fs.writeFileSync(file, demoPng(480, 300));
    const input = alice.page.getByTestId('file-input');
    await input.setInputFiles(file);
    await alice.page.waitForTimeout(1500);
    await alice.page.mouse.move(5, 670);
    await alice.page.screenshot({ path: path.join(OUT, 'chat-room.png') });

    // DMs and contacts.
    bob.send({ type: 'dm', to: 'alice', content: 'Do you have a minute after standup?' });
    carol.send({ type: 'dm', to: 'alice', content: 'Sent you the copy doc.' });
    await alice.page.getByTestId('dm-list').locator('[data-peer="bob"]').waitFor();
    alice.page.evaluate(() => (globalThis as unknown as { switchboard: { contacts(a: string, u: string): void } }).switchboard.contacts('add', 'bob'));
    alice.page.evaluate(() => (globalThis as unknown as { switchboard: { contacts(a: string, u: string): void } }).switchboard.contacts('add', 'carol'));
    await alice.page.getByTestId('dm-list').locator('[data-peer="bob"]').click();
    await alice.say('Sure, ping me.');
    await alice.page.waitForTimeout(800);
    await alice.page.screenshot({ path: path.join(OUT, 'direct-messages.png') });

    // Phone width: a fresh tab at 390 px, the room, then the drawer.
    const phone = await AppPage.open(browser, url, { width: 390, height: 760 });
    await phone.signIn('alice', PASSWORD);
    await phone.page.getByRole('button', { name: 'Open rooms and direct messages' }).click();
    await phone.page.getByTestId('room-list').locator(`[data-room="${room}"]`).click();
    await phone.page.getByTestId('conversation-title').filter({ hasText: room }).waitFor();
    await phone.page.waitForTimeout(800);
    await phone.page.screenshot({ path: path.join(OUT, 'phone.png') });
    for (const f of fs.readdirSync(OUT)) console.log(`${f}: ${fs.statSync(path.join(OUT, f)).size} bytes`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
