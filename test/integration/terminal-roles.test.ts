// `switchboard connect` and the roles and moderation extension against the real server (two
// workers, so moderator and target usually sit in different processes): a room's owner makes
// it private, invites, kicks, bans for a while and for good, unbans; the refusals come back as
// errors; an administrator (from `--admins`) sends a notice, takes a room over, disconnects a
// client (which does not reconnect) and closes the room. Every process is ours, killed by its
// pid if it outlives the test; everything listens on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../helpers/server';
import { TerminalClient } from '../helpers/terminal-client';

const TEST_TIMEOUT = { timeout: 90_000 };
const REFUSED_JOIN = 'The requested room is invalid or non existent';

let server: RunningServer;
let target: string;
let alice: TerminalClient;
let bob: TerminalClient;
let root: TerminalClient;

/** A client past the welcome. */
async function connected(): Promise<{ client: TerminalClient; guest: string }> {
  const client = TerminalClient.start(target);
  const guest = (await client.next(/^Connected to 127\.0\.0\.1:\d+ as (guest\d+)$/))[1]!;
  return { client, guest };
}

/** A client registered and logged in as `username`; `admin`: the server says it is one. */
async function account(username: string, admin: boolean): Promise<TerminalClient> {
  const { client } = await connected();
  client.type(`/register ${username} pw-${username}-123`);
  await client.next(`Registered ${username}`);
  client.type(`/login ${username} pw-${username}-123`);
  await client.next(`Logged in as ${username}${admin ? ' (administrator)' : ''}`);
  return client;
}

/** The moment a ban's end line shows, e.g. `2024-05-20 10:33:20` (UTC). */
const utc = (shown: string): number => Date.parse(shown.replace(' ', 'T') + 'Z');

before(async () => {
  server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2', '--admins', 'root'] });
  target = `127.0.0.1:${server.port}`;
});

after(async () => {
  for (const client of [alice, bob, root]) client?.kill();
  await server?.stop();
});

test('an owner makes a room private, invites, kicks, bans (timed, then for good) and unbans', TEST_TIMEOUT, async () => {
  alice = await account('alice', false);
  const guest = await connected();
  bob = guest.client;
  bob.type('/identitychange bob');
  await bob.next(`${guest.guest} is now bob`);

  alice.type('/createroom Attic --private');
  await alice.next(/^Rooms: MainHall \d+, Attic 0$/);
  bob.type('/join Attic');
  // One sentence: not the seed refusal and then the error.
  await bob.next(/^You cannot join Attic: it is private and you are not invited\. \(INVITE_ONLY\)$/);
  assert.ok(!bob.lines.includes(REFUSED_JOIN), bob.output);

  alice.type('/invite Attic bob');
  await alice.next('alice invited bob to Attic');
  await bob.next('alice invited you to Attic');
  bob.type('/join Attic');
  await bob.next('bob moves from MainHall to Attic');

  alice.type('/roominfo Attic');
  await alice.next('Room Attic: owner alice, private (invitation only)');
  await alice.next('  invited: bob');
  await alice.next('  banned: nobody');

  alice.type('/kick Attic bob too  loud');
  await alice.next('alice kicked bob out of Attic: too  loud');
  await bob.next('alice kicked you out of Attic: too  loud');
  await bob.next('bob moves from Attic to MainHall');
  alice.type('/roominfo Attic');
  await alice.next('Room Attic: owner alice, private (invitation only)');
  await alice.next('  invited: nobody'); // a kick withdraws the invitation

  alice.type('/private Attic off');
  await alice.next('alice opened Attic to everyone');
  bob.type('/join Attic');
  await bob.next('bob moves from MainHall to Attic');

  // A ban for ten minutes: its end shown in UTC, on both sides, and in bob's refusal.
  const sentAt = Date.now();
  alice.type('/ban Attic bob 10m spamming');
  const [, end] = await alice.next(/^alice banned bob from Attic until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC: spamming$/);
  const until = utc(end!);
  assert.ok(until >= Math.floor(sentAt / 1000) * 1000 + 600_000 && until <= Date.now() + 600_000, `${end} is ten minutes from now`);
  await bob.next(`alice banned you from Attic until ${end} UTC: spamming`);
  await bob.next('bob moves from Attic to MainHall');
  bob.type('/join Attic');
  await bob.next(/^You cannot join Attic, you are banned from it: .*spamming.* \(BANNED\)$/);

  // A duration that is not one: a usage line, and nothing sent (the ban is unchanged).
  alice.type('/ban Attic bob 1.5h');
  await alice.next('"1.5h" is not a duration: use 30s, 10m, 2h, 1d or a number of seconds');
  await alice.next('usage: /ban ROOM NAME [DURATION] [REASON...]');
  alice.type('/roominfo Attic');
  await alice.next('Room Attic: owner alice, open');
  await alice.next('  invited: nobody');
  await alice.next(`  banned: bob by alice until ${end} UTC: spamming`);

  // Banned again without a duration: until unbanned (bob, connected, is told too).
  alice.type('/ban Attic bob');
  await alice.next('alice banned bob from Attic until unbanned');
  await bob.next('alice banned you from Attic until unbanned');
  alice.type('/unban Attic bob');
  await alice.next('alice lifted the ban of bob from Attic');
  bob.type('/join Attic');
  await bob.next('bob moves from MainHall to Attic');

  // Refusals: one sentence each, with the server's code.
  alice.type('/unban Attic bob');
  await alice.next('bob is not banned from Attic. (NO_SUCH_USER)');
  alice.type('/transfer Attic bob'); // a stored room passes to accounts only
  await alice.next(/^You cannot \/transfer in Attic: .* \(NOT_ALLOWED\)$/);
  bob.type('/kick Attic alice');
  await bob.next(/^You cannot \/kick in Attic: you are not its owner nor an administrator, .* \(NOT_ALLOWED\)$/);
  bob.type('/private MainHall on');
  await bob.next('MainHall has no owner: it cannot be moderated or closed. (NO_SUCH_ROOM)');
  bob.type('/notice hello everyone');
  await bob.next(/^You may not \/notice: .* \(NOT_ALLOWED\)$/);
  bob.type('/disconnect alice');
  await bob.next(/^You may not \/disconnect: .* \(NOT_ALLOWED\)$/);
});

test('an administrator: a notice to all, a room taken over, a client disconnected for good, the room closed', TEST_TIMEOUT, async () => {
  root = await account('root', true);

  root.type('/notice Maintenance at  noon');
  const notice = /^\*\*\* Notice from root at \d\d:\d\d: Maintenance at {2}noon$/;
  for (const client of [root, alice, bob]) await client.next(notice);

  // From anywhere: root is in MainHall, Attic is alice's.
  root.type('/roominfo Attic');
  await root.next('Room Attic: owner alice, open');
  root.type('/transfer Attic root');
  await root.next('Attic contains bob');
  await root.next('root is now the owner of Attic (was alice).');
  await bob.next('Attic contains bob');
  await bob.next('root is now the owner of Attic.');
  root.type('/roominfo Attic');
  await root.next('Room Attic: owner root, open');
  alice.type('/roominfo Attic');
  await alice.next(/^You cannot \/roominfo in Attic: .* \(NOT_ALLOWED\)$/);

  root.type('/disconnect root');
  await root.next(/^You may not \/disconnect: .* \(NOT_ALLOWED\)$/);
  root.type('/disconnect bob flooding');
  await root.next('bob was disconnected by root: flooding');
  await bob.next(/^error DISCONNECTED: .*flooding$/);
  await bob.next(/^Disconnected by server: .*flooding \(DISCONNECTED\)$/);
  assert.equal(await bob.exited, 2, 'ended, not reconnecting');
  assert.ok(!bob.lines.some((l) => /reconnecting/i.test(l)), bob.output);

  root.type('/close Attic');
  await root.next(/^Rooms: MainHall \d+$/);
  await root.next('Room Attic deleted.');
  alice.type('/join Attic');
  await alice.next('There is no room named Attic (/list shows the rooms; /createroom Attic makes one).');

  // Piped sessions in which commands were refused end with exit code 3.
  assert.equal(await alice.finish(), 3, alice.stderr);
  assert.equal(await root.finish(), 3, root.stderr);
});
