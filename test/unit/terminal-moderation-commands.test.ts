// The terminal client's moderation commands: how they are parsed (durations, reasons, usage
// lines for what does not fit), what answers them, and the help that lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpLines, parseInput, replyMatcher } from '../../src/client/terminal/commands';
import { looksLikeDuration, parseDuration } from '../../src/client/terminal/duration';
import { shouldReconnect } from '../../src/client/terminal/reconnect';
import type { ClientMessage, ServerMessage } from '../../src/client/terminal/wire';

const send = (message: ClientMessage) => ({ kind: 'send', message });
const local = (...lines: string[]) => ({ kind: 'error', lines });

test('durations: seconds, minutes, hours, days; anything else is refused with why', () => {
  const ok = (seconds: number) => ({ ok: true, seconds });
  assert.deepEqual(parseDuration('45'), ok(45));
  assert.deepEqual(parseDuration('30s'), ok(30));
  assert.deepEqual(parseDuration('10m'), ok(600));
  assert.deepEqual(parseDuration('2h'), ok(7200));
  assert.deepEqual(parseDuration('1d'), ok(86_400));
  assert.deepEqual(parseDuration('2H'), ok(7200));
  assert.deepEqual(parseDuration('0'), ok(0));
  for (const bad of ['1.5h', '10x', '-5', '+5', '5 m', '1h30m', 'm', '', '1w']) {
    const parsed = parseDuration(bad);
    assert.equal(parsed.ok, false, bad);
    assert.match(!parsed.ok ? parsed.why : '', /is not a duration: use 30s, 10m, 2h, 1d or a number of seconds$/, bad);
  }
  assert.deepEqual(parseDuration('99999999999999d'), { ok: false, why: '"99999999999999d" is too long a duration' });
  // The end of the longest one is still an exact number of milliseconds.
  const longest = parseDuration('9007199254740s');
  assert.ok(longest.ok && Number.isSafeInteger(longest.seconds * 1000));
});

test('a word is taken for a duration when it starts like a number', () => {
  for (const word of ['10', '10m', '1.5h', '-3', '+3', '.5']) assert.equal(looksLikeDuration(word), true, word);
  for (const word of ['spam', 'm10', 'ten', '']) assert.equal(looksLikeDuration(word), false, word);
});

test('room moderation commands build their requests', () => {
  assert.deepEqual(parseInput('/private Attic on'), send({ type: 'private', roomid: 'Attic', on: true }));
  assert.deepEqual(parseInput('#private Attic OFF'), send({ type: 'private', roomid: 'Attic', on: false }));
  assert.deepEqual(parseInput('/invite Attic bob'), send({ type: 'invite', roomid: 'Attic', identity: 'bob' }));
  assert.deepEqual(parseInput('/uninvite Attic bob'), send({ type: 'uninvite', roomid: 'Attic', identity: 'bob' }));
  assert.deepEqual(parseInput('/unban Attic bob'), send({ type: 'unban', roomid: 'Attic', identity: 'bob' }));
  assert.deepEqual(parseInput('/roominfo Attic'), send({ type: 'roominfo', roomid: 'Attic' }));
  assert.deepEqual(parseInput('/transfer Attic bob'), send({ type: 'transfer', roomid: 'Attic', identity: 'bob' }));
  assert.deepEqual(parseInput('/close Attic'), send({ type: 'delete', roomid: 'Attic' }));
  assert.deepEqual(parseInput('/CLOSE Attic'), send({ type: 'delete', roomid: 'Attic' }));
});

test('createroom --private asks for an invite-only room; without it no private field is sent', () => {
  assert.deepEqual(parseInput('/createroom Attic --private'), send({ type: 'createroom', roomid: 'Attic', private: true }));
  assert.deepEqual(parseInput('/createroom Attic'), send({ type: 'createroom', roomid: 'Attic' }));
  assert.deepEqual(parseInput('/createroom Attic private'), local('usage: /createroom ROOM [--private]'));
  assert.deepEqual(parseInput('/createroom --PRIVATE Attic'), send({ type: 'createroom', roomid: 'Attic', private: true }));
  for (const bad of ['/createroom --private', '/createroom --private --private', '/createroom Attic Den', '/createroom']) {
    assert.deepEqual(parseInput(bad), local('usage: /createroom ROOM [--private]'), bad);
  }
});

test('kick and disconnect: the reason is the rest of the line, as typed, and optional', () => {
  assert.deepEqual(parseInput('/kick Attic bob'), send({ type: 'kick', roomid: 'Attic', identity: 'bob' }));
  assert.deepEqual(parseInput('/kick Attic bob  too  loud '), send({ type: 'kick', roomid: 'Attic', identity: 'bob', reason: 'too  loud' }));
  assert.deepEqual(parseInput('/disconnect bob'), send({ type: 'disconnect', identity: 'bob' }));
  assert.deepEqual(parseInput('/disconnect bob flooding'), send({ type: 'disconnect', identity: 'bob', reason: 'flooding' }));
});

test('ban: a third word like a number is the duration, anything after it the reason', () => {
  const ban = (extra: object) => send({ type: 'ban', roomid: 'Attic', identity: 'bob', ...extra } as ClientMessage);
  assert.deepEqual(parseInput('/ban Attic bob'), ban({}));
  assert.deepEqual(parseInput('/ban Attic bob 10m'), ban({ seconds: 600 }));
  assert.deepEqual(parseInput('/ban Attic bob 90 spam, again'), ban({ seconds: 90, reason: 'spam, again' }));
  assert.deepEqual(parseInput('/ban Attic bob 1d  very  rude'), ban({ seconds: 86_400, reason: 'very  rude' }));
  assert.deepEqual(parseInput('/ban Attic bob rude words'), ban({ reason: 'rude words' }), 'no duration: until unban');
  assert.deepEqual(parseInput('/ban Attic bob rude 10m'), ban({ reason: 'rude 10m' }));
});

test('bad arguments give a usage line, and why when it helps; nothing is sent', () => {
  const banUsage = 'usage: /ban ROOM NAME [DURATION] [REASON...]';
  assert.deepEqual(parseInput('/ban Attic bob 10x spam'), local('"10x" is not a duration: use 30s, 10m, 2h, 1d or a number of seconds', banUsage));
  assert.deepEqual(parseInput('/ban Attic bob 1.5h'), local('"1.5h" is not a duration: use 30s, 10m, 2h, 1d or a number of seconds', banUsage));
  assert.deepEqual(parseInput('/ban Attic bob -5m'), local('"-5m" is not a duration: use 30s, 10m, 2h, 1d or a number of seconds', banUsage));
  assert.deepEqual(parseInput('/ban Attic bob 0'), local('a duration must be more than 0; leave it out to ban until unbanned', banUsage));
  assert.deepEqual(parseInput('/ban Attic bob 0s'), local('a duration must be more than 0; leave it out to ban until unbanned', banUsage));
  assert.deepEqual(parseInput('#ban Attic'), local('usage: #ban ROOM NAME [DURATION] [REASON...]'));
  assert.deepEqual(parseInput('/ban'), local(banUsage));

  const long = 'x'.repeat(201);
  assert.deepEqual(parseInput(`/kick Attic bob ${long}`), local('the reason is 201 characters long; at most 200', 'usage: /kick ROOM NAME [REASON...]'));
  assert.deepEqual(parseInput(`/ban Attic bob 5m ${long}`), local('the reason is 201 characters long; at most 200', banUsage));
  assert.deepEqual(parseInput(`/disconnect bob ${long}`), local('the reason is 201 characters long; at most 200', 'usage: /disconnect NAME [REASON...]'));
  // Characters, not UTF-16 units: 200 emoji are a reason of 200.
  const emoji = '\u{1F600}'.repeat(200);
  assert.deepEqual(parseInput(`/kick Attic bob ${emoji}`), send({ type: 'kick', roomid: 'Attic', identity: 'bob', reason: emoji }));

  const usages: Array<[string, string]> = [
    ['/private Attic', 'usage: /private ROOM on|off'],
    ['/private Attic yes', 'usage: /private ROOM on|off'],
    ['/private on', 'usage: /private ROOM on|off'],
    ['/invite Attic', 'usage: /invite ROOM NAME'],
    ['/invite Attic bob carol', 'usage: /invite ROOM NAME'],
    ['/uninvite', 'usage: /uninvite ROOM NAME'],
    ['/kick Attic', 'usage: /kick ROOM NAME [REASON...]'],
    ['/unban Attic', 'usage: /unban ROOM NAME'],
    ['/roominfo', 'usage: /roominfo ROOM'],
    ['/roominfo Attic Lobby', 'usage: /roominfo ROOM'],
    ['/transfer Attic', 'usage: /transfer ROOM NAME'],
    ['/close', 'usage: /close ROOM'],
    ['/disconnect', 'usage: /disconnect NAME [REASON...]'],
    ['/notice', 'usage: /notice TEXT...'],
    ['/notice    ', 'usage: /notice TEXT...'],
  ];
  for (const [line, usage] of usages) assert.deepEqual(parseInput(line), local(usage), line);
});

test('notice: the text as typed', () => {
  assert.deepEqual(parseInput('/notice Restart at  noon, back soon'), send({ type: 'notice', content: 'Restart at  noon, back soon' }));
});

test('help lists the moderation commands and how durations are written', () => {
  const help = helpLines();
  for (const name of ['private', 'invite', 'uninvite', 'kick', 'ban', 'unban', 'roominfo', 'transfer', 'close', 'disconnect', 'notice']) {
    assert.ok(help.some((l) => l.startsWith(`  /${name} `)), name);
  }
  assert.ok(help.some((l) => l.startsWith('  /createroom ROOM [--private]')));
  assert.ok(help.some((l) => l.startsWith('DURATION: 30s, 10m, 2h, 1d or a number of seconds')));
  // A synopsis too long for its column puts its summary on the next line, in the column.
  const ban = help.indexOf('  /ban ROOM NAME [DURATION] [REASON...]');
  assert.ok(ban > 0);
  assert.match(help[ban + 1]!, /^ {24}kick NAME and keep it out/);
  assert.equal(help.indexOf('  /join ROOM            move to a room') > 0, true, 'short rows as before');
});

test('replyMatcher: each moderation request waits for its own answer, or an error', () => {
  const cases: Array<[ClientMessage, ServerMessage, ServerMessage]> = [
    [{ type: 'private', roomid: 'Attic', on: true }, { type: 'private', roomid: 'Attic', on: true, by: 'al' }, { type: 'private', roomid: 'Den', on: true, by: 'al' }],
    [{ type: 'invite', roomid: 'Attic', identity: 'bob' }, { type: 'invite', roomid: 'Attic', identity: 'bob', by: 'al' }, { type: 'uninvite', roomid: 'Attic', identity: 'bob', by: 'al' }],
    [{ type: 'uninvite', roomid: 'Attic', identity: 'bob' }, { type: 'uninvite', roomid: 'Attic', identity: 'bob', by: 'al' }, { type: 'invite', roomid: 'Attic', identity: 'bob', by: 'al' }],
    [{ type: 'kick', roomid: 'Attic', identity: 'bob' }, { type: 'kick', roomid: 'Attic', identity: 'bob', by: 'al', reason: '' }, { type: 'kick', roomid: 'Attic', identity: 'eve', by: 'al', reason: '' }],
    [{ type: 'ban', roomid: 'Attic', identity: 'bob', seconds: 60 }, { type: 'ban', roomid: 'Attic', identity: 'bob', by: 'al', reason: '', until: 5 }, { type: 'kick', roomid: 'Attic', identity: 'bob', by: 'al', reason: '' }],
    [{ type: 'unban', roomid: 'Attic', identity: 'bob' }, { type: 'unban', roomid: 'Attic', identity: 'bob', by: 'al' }, { type: 'unban', roomid: 'Den', identity: 'bob', by: 'al' }],
    [{ type: 'roominfo', roomid: 'Attic' }, { type: 'roominfo', roomid: 'Attic', owner: 'al', private: false, invited: [], bans: [] }, { type: 'roominfo', roomid: 'Den', owner: 'al', private: false, invited: [], bans: [] }],
    [{ type: 'transfer', roomid: 'Attic', identity: 'bob' }, { type: 'roomcontents', roomid: 'Attic', identities: [], owner: 'bob' }, { type: 'roomcontents', roomid: 'Den', identities: [], owner: 'bob' }],
    [{ type: 'disconnect', identity: 'bob' }, { type: 'disconnected', identity: 'bob', by: 'al', reason: '' }, { type: 'disconnected', identity: 'eve', by: 'al', reason: '' }],
    [{ type: 'notice', content: 'hi' }, { type: 'notice', from: 'al', content: 'hi', ts: 1 }, { type: 'notice', from: 'zed', content: 'hi', ts: 1 }],
  ];
  for (const [sent, answer, other] of cases) {
    const matches = replyMatcher(sent, 'al')!;
    assert.ok(matches(answer), `${sent.type} answered by ${JSON.stringify(answer)}`);
    assert.ok(!matches(other), `${sent.type} not answered by ${JSON.stringify(other)}`);
    assert.ok(matches({ type: 'error', code: 'NOT_ALLOWED', message: 'no' }), `${sent.type} answered by an error`);
  }
});

test('reconnection: not after an administrator disconnected us; yes after a refused moderation request', () => {
  const error = (code: string) => ({ kind: 'known' as const, message: { type: 'error' as const, code, message: 'm' } });
  assert.equal(shouldReconnect(error('DISCONNECTED')), false);
  for (const code of ['NO_SUCH_ROOM', 'INVITE_ONLY', 'BANNED', 'NOT_ALLOWED']) assert.equal(shouldReconnect(error(code)), true, code);
});
