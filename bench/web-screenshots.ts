/**
 * Screenshots of the web app's main views for the README (docs/screenshots/*.png): a real
 * server (`--http-port 0`, a temporary data dir), terminal-protocol clients playing the other
 * users, and headless Chromium (the Debian package) as the user. Run: `npm run screenshots`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppPage, chromiumAvailable, launchChromium } from '../test/helpers/browser';
import { TestClient, type Msg } from '../test/helpers/client';
import { gradientPng } from '../test/helpers/png';
import { PASSWORD, memberClient } from '../test/helpers/requests';
import { startServer } from '../test/helpers/server';

const OUT = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');


async function say(c: TestClient, content: string): Promise<void> {
  c.send({ type: 'message', content });
  await c.waitFor((m: Msg) => m.type === 'message' && m.content === content);
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error('Chromium is not installed at /usr/bin/chromium (apt-get install chromium)');
  fs.mkdirSync(OUT, { recursive: true });
  const server = await startServer({ args: ['--http-port', '0', '--workers', '1'] });
  const browser = await launchChromium();
  try {
    const url = `http://127.0.0.1:${server.httpPort}/`;
    const room = 'Design';
    const bob = await memberClient(server.port, 'bob', room);
    const carol = await memberClient(server.port, 'carol', room);
    bob.send({ type: 'status', text: 'Reviewing mockups' });
    carol.send({ type: 'away', on: true });
    await (await memberClient(server.port, 'dave')).close(); // a contact who is offline
    await memberClient(server.port, 'alice');
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
    fs.writeFileSync(file, gradientPng(480, 300));
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
    alice.page.evaluate(() => (globalThis as unknown as { switchboard: { contacts(a: string, u: string): void } }).switchboard.contacts('add', 'dave'));
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
    await phone.page.mouse.move(385, 5);
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
