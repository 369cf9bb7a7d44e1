import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestName, editDistance } from '../../src/client/terminal/command-hint';
import { COMMAND_NAMES, COMMAND_SECTIONS, commandHelp, helpLines, loggableInput, parseInput, replyMatcher, type InputContext } from '../../src/client/terminal/commands';
import type { ClientMessage } from '../../src/client/terminal/wire';

const send = (message: object) => ({ kind: 'send', message });
const inJokes: InputContext = { room: 'jokes' };

test('commands with # and / build client messages', () => {
  assert.deepEqual(parseInput('#identitychange bob'), send({ type: 'identitychange', identity: 'bob' }));
  assert.deepEqual(parseInput('/join jokes'), send({ type: 'join', roomid: 'jokes' }));
  assert.deepEqual(parseInput('#who MainHall'), send({ type: 'who', roomid: 'MainHall' }));
  assert.deepEqual(parseInput('#list'), send({ type: 'list' }));
  assert.deepEqual(parseInput('/createroom jokes'), send({ type: 'createroom', roomid: 'jokes' }));
  assert.deepEqual(parseInput('#delete jokes'), send({ type: 'delete', roomid: 'jokes' }));
  assert.deepEqual(parseInput('/quit'), send({ type: 'quit' }));
  assert.deepEqual(parseInput('  #JOIN   jokes  '), send({ type: 'join', roomid: 'jokes' }));
});

test('accounts: register, login with a password or the saved login, logout', () => {
  assert.deepEqual(parseInput('/register alice s3cret-pw'), send({ type: 'register', username: 'alice', password: 's3cret-pw' }));
  assert.deepEqual(parseInput('/login alice s3cret-pw'), send({ type: 'login', username: 'alice', password: 's3cret-pw' }));
  // a password may hold spaces: it is the rest of the line
  assert.deepEqual(parseInput('#login alice  my pass phrase '), send({ type: 'login', username: 'alice', password: 'my pass phrase' }));
  assert.deepEqual(parseInput('/login'), { kind: 'savedlogin' });
  assert.deepEqual(parseInput('/logout'), send({ type: 'logout' }));
  // the password left out: asked for (hidden), then sent
  for (const [line, type] of [['/login alice', 'login'], ['#register alice', 'register']] as const) {
    const action = parseInput(line);
    assert.equal(action.kind, 'secret', line);
    assert.equal(action.kind === 'secret' && action.prompt, 'Password for alice: ');
    assert.deepEqual(action.kind === 'secret' && action.build('pw 1234567'), { type, username: 'alice', password: 'pw 1234567' });
  }
  assert.deepEqual(parseInput('#register'), { kind: 'error', lines: ['usage: #register USER [PASS]'] });
});

test('direct messages keep the text as typed after the user name', () => {
  assert.deepEqual(parseInput('/msg bob hi  there '), send({ type: 'dm', to: 'bob', content: 'hi  there' }));
  assert.deepEqual(parseInput('/msg bob'), { kind: 'error', lines: ['usage: /msg USER TEXT'] });
});

test('history: room and count optional, default our room and 20', () => {
  assert.deepEqual(parseInput('/history', inJokes), send({ type: 'history', roomid: 'jokes', limit: 20 }));
  assert.deepEqual(parseInput('/history 5', inJokes), send({ type: 'history', roomid: 'jokes', limit: 5 }));
  assert.deepEqual(parseInput('/history MainHall', inJokes), send({ type: 'history', roomid: 'MainHall', limit: 20 }));
  assert.deepEqual(parseInput('/history MainHall 50', inJokes), send({ type: 'history', roomid: 'MainHall', limit: 50 }));
  assert.deepEqual(parseInput('/history', { room: '' }), { kind: 'error', lines: ['You are in no room: name one'] });
  for (const bad of ['/history a b c', '/history MainHall x', '/history MainHall 0']) {
    assert.deepEqual(parseInput(bad, inJokes), { kind: 'error', lines: ['usage: /history [ROOM] [N]'] }, bad);
  }
  assert.deepEqual(parseInput('/dmhistory bob'), send({ type: 'dmhistory', with: 'bob', limit: 20 }));
  assert.deepEqual(parseInput('/dmhistory bob 3'), send({ type: 'dmhistory', with: 'bob', limit: 3 }));
  assert.deepEqual(parseInput('/dmhistory'), { kind: 'error', lines: ['usage: /dmhistory USER [N]'] });
  assert.deepEqual(parseInput('/dmhistory bob x'), { kind: 'error', lines: ['usage: /dmhistory USER [N]'] });
});

test('recall takes the id as shown, brackets or not, and resolves it', () => {
  const context: InputContext = { room: '', resolveId: (shown) => (shown === 'ABCDEFGH' ? '01HZX7K9ABCDEFGH' : shown) };
  assert.deepEqual(parseInput('/recall ABCDEFGH', context), send({ type: 'recall', id: '01HZX7K9ABCDEFGH' }));
  assert.deepEqual(parseInput('/recall [ABCDEFGH]', context), send({ type: 'recall', id: '01HZX7K9ABCDEFGH' }));
  assert.deepEqual(parseInput('/recall full-id', context), send({ type: 'recall', id: 'full-id' }));
  assert.deepEqual(parseInput('/recall'), { kind: 'error', lines: ['usage: /recall ID'] });
});

test('block, unblock, dnd, status, presence', () => {
  assert.deepEqual(parseInput('/block bob'), send({ type: 'block', user: 'bob' }));
  assert.deepEqual(parseInput('/unblock bob'), send({ type: 'unblock', user: 'bob' }));
  assert.deepEqual(parseInput('/dnd on'), send({ type: 'dnd', on: true }));
  assert.deepEqual(parseInput('/dnd OFF'), send({ type: 'dnd', on: false }));
  assert.deepEqual(parseInput('/dnd maybe'), { kind: 'error', lines: ['usage: /dnd on|off'] });
  assert.deepEqual(parseInput('/status out to  lunch'), send({ type: 'status', text: 'out to  lunch' }));
  assert.deepEqual(parseInput('/status'), send({ type: 'status', text: '' }));
  assert.deepEqual(parseInput('/presence alice bob'), send({ type: 'presence', users: ['alice', 'bob'] }));
  assert.deepEqual(parseInput('/presence'), { kind: 'error', lines: ['usage: /presence USER...'] });
});

test('anything else is a message, exactly as typed', () => {
  assert.deepEqual(parseInput('hello world'), send({ type: 'message', content: 'hello world' }));
  assert.deepEqual(parseInput('  spaced  '), send({ type: 'message', content: '  spaced  ' }));
  assert.deepEqual(parseInput('#hashtag fun'), send({ type: 'message', content: '#hashtag fun' }));
  assert.deepEqual(parseInput('//shrug'), send({ type: 'message', content: '/shrug' }));
  assert.deepEqual(parseInput('/say /shrug  too'), send({ type: 'message', content: '/shrug  too' }));
  assert.deepEqual(parseInput('##hashtag'), send({ type: 'message', content: '#hashtag' }));
  assert.deepEqual(parseInput('# join x'), send({ type: 'message', content: '# join x' }));
  assert.deepEqual(parseInput('#toString x'), send({ type: 'message', content: '#toString x' }));
  assert.deepEqual(parseInput('crlf\r'), send({ type: 'message', content: 'crlf' }));
});

test('blank lines do nothing', () => {
  assert.deepEqual(parseInput(''), { kind: 'none' });
  assert.deepEqual(parseInput('   '), { kind: 'none' });
});

test('missing or extra arguments give a local usage line', () => {
  assert.deepEqual(parseInput('#join'), { kind: 'error', lines: ['usage: #join ROOM'] });
  assert.deepEqual(parseInput('/identitychange'), { kind: 'error', lines: ['usage: /identitychange NAME'] });
  assert.deepEqual(parseInput('#who a b'), { kind: 'error', lines: ['usage: #who [ROOM]'] });
  assert.deepEqual(parseInput('#list all'), { kind: 'error', lines: ['usage: #list'] });
  assert.deepEqual(parseInput('#block a b'), { kind: 'error', lines: ['usage: #block USER'] });
  assert.deepEqual(parseInput('#help me too'), { kind: 'error', lines: ['usage: #help [COMMAND]'] });
});

test('help is local and lists every command, and how ids are shown', () => {
  const help = parseInput('/help');
  assert.equal(help.kind, 'local');
  assert.deepEqual(help.kind === 'local' && help.lines, helpLines());
  const names = ['identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'register', 'login', 'logout', 'msg',
    'history', 'dmhistory', 'recall', 'block', 'unblock', 'dnd', 'status', 'presence', 'quit', 'help'];
  for (const name of names) {
    assert.ok(helpLines().some((l) => l.startsWith(`  /${name} `)), name);
  }
  assert.ok(helpLines().some((l) => l.includes('[ID]')));
});

test('passwords are masked in the transcript, also in a mistyped command', () => {
  assert.equal(loggableInput('/login alice my secret'), '/login alice ********');
  assert.equal(loggableInput('#REGISTER alice pw12345678'), '#register alice ********');
  assert.equal(loggableInput('/regster dave supersecret1'), '/regster dave ********');
  assert.equal(loggableInput('/login alice'), '/login alice');
  assert.equal(loggableInput('/login'), '/login');
  assert.equal(loggableInput('/msg bob my password is x'), '/msg bob my password is x');
  assert.equal(loggableInput('hello'), 'hello');
});

test('replyMatcher recognises the answer to each request', () => {
  const joinReply = replyMatcher({ type: 'join', roomid: 'jokes' }, 'guest1')!;
  assert.ok(joinReply({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'MainHall' }));
  assert.ok(!joinReply({ type: 'roomchange', identity: 'guest2', former: 'MainHall', roomid: 'jokes' }));
  assert.ok(joinReply({ type: 'error', code: 'E', message: 'm' }));

  const msgReply = replyMatcher({ type: 'message', content: 'hi' }, 'guest1')!;
  assert.ok(msgReply({ type: 'message', identity: 'guest1', content: 'hi' }));
  assert.ok(!msgReply({ type: 'message', identity: 'guest2', content: 'hi' }));

  const idReply = replyMatcher({ type: 'identitychange', identity: 'bob' }, 'guest1')!;
  assert.ok(idReply({ type: 'newidentity', former: 'guest1', identity: 'guest1' }));
  assert.ok(!idReply({ type: 'newidentity', former: 'guest2', identity: 'bob' }));

  assert.ok(replyMatcher({ type: 'who', roomid: 'x' }, 'g')!({ type: 'roomcontents', roomid: 'x', identities: [], owner: '' }));
  for (const sent of [{ type: 'list' }, { type: 'createroom', roomid: 'x' }, { type: 'delete', roomid: 'x' }] as const) {
    assert.ok(replyMatcher(sent, 'g')!({ type: 'roomlist', rooms: [] }));
  }
  assert.equal(replyMatcher({ type: 'quit' }, 'g'), null);
  assert.equal(replyMatcher({ type: 'ack', inbox: 3 }, 'g'), null);
});

test('replyMatcher: the accounts requests', () => {
  const cases: Array<[ClientMessage, object, object]> = [
    [{ type: 'register', username: 'alice', password: 'p' }, { type: 'registered', username: 'alice' }, { type: 'registered', username: 'bob' }],
    [{ type: 'login', token: 't' }, { type: 'loggedin', identity: 'alice', token: 't2' }, { type: 'loggedout', identity: 'g' }],
    [{ type: 'logout' }, { type: 'loggedout', identity: 'guest4' }, { type: 'loggedin', identity: 'a', token: 't' }],
    [{ type: 'dm', to: 'bob', content: 'hi' }, { type: 'dm', from: 'alice', to: 'bob', content: 'hi' }, { type: 'dm', from: 'bob', to: 'alice', content: 'hi' }],
    [{ type: 'history', roomid: 'jokes' }, { type: 'history', roomid: 'jokes', messages: [] }, { type: 'history', roomid: 'other', messages: [] }],
    [{ type: 'dmhistory', with: 'bob' }, { type: 'dmhistory', with: 'bob', messages: [] }, { type: 'dmhistory', with: 'eve', messages: [] }],
    [{ type: 'resume', roomid: 'jokes', since: 3 }, { type: 'resumed', roomid: 'jokes', seq: 9 }, { type: 'message', identity: 'a', content: 'b' }],
    [{ type: 'recall', id: 'm1' }, { type: 'recalled', id: 'm1', roomid: 'r', seq: 1, by: 'alice' }, { type: 'recalled', id: 'm2', roomid: 'r', seq: 2, by: 'x' }],
    [{ type: 'block', user: 'bob' }, { type: 'blocklist', users: ['bob'] }, { type: 'profile', username: 'a', status: '', dnd: true }],
    [{ type: 'dnd', on: true }, { type: 'profile', username: 'alice', status: '', dnd: true }, { type: 'blocklist', users: [] }],
    [{ type: 'presence', users: ['bob'] }, { type: 'presence', users: [] }, { type: 'profile', username: 'a', status: '', dnd: true }],
    [{ type: 'blocklist' }, { type: 'blocklist', users: ['bob'] }, { type: 'profile', username: 'a', status: '', dnd: true }],
  ];
  for (const [sent, yes, no] of cases) {
    const matches = replyMatcher(sent, 'alice')!;
    assert.ok(matches(yes as never), `${sent.type} answered by ${JSON.stringify(yes)}`);
    assert.ok(!matches(no as never), `${sent.type} not answered by ${JSON.stringify(no)}`);
    assert.ok(matches({ type: 'error', code: 'NOT_LOGGED_IN', message: 'm' }));
  }
  // an offline delivery to us is not the echo of what we sent
  assert.ok(!replyMatcher({ type: 'dm', to: 'bob', content: 'hi' }, 'alice')!({ type: 'dm', from: 'alice', to: 'bob', content: 'hi', inbox: 2 }));
});

test('an unknown /word, a lone / or #, and a #word close to a command are local errors with a hint, never sent', () => {
  const unknown = parseInput('/regster dave supersecret1');
  assert.equal(unknown.kind, 'error');
  assert.match(unknown.kind === 'error' ? unknown.lines[0]! : '', /^Unknown command \/regster: nothing was sent\. Did you mean \/register\?/);
  const far = parseInput('/zzzzzz');
  assert.equal(far.kind, 'error');
  assert.doesNotMatch(far.kind === 'error' ? far.lines[0]! : '', /Did you mean/);
  for (const lone of ['/', '#', '  /  ']) {
    const action = parseInput(lone);
    assert.equal(action.kind, 'error', lone);
    assert.match(action.kind === 'error' ? action.lines[0]! : '', /^A lone [/#] is not a command: nothing was sent/);
  }
  const typo = parseInput('#joni MainHall');
  assert.equal(typo.kind, 'error');
  assert.match(typo.kind === 'error' ? typo.lines[0]! : '', /Did you mean #join\?/);
  // a hashtag that is no near command is chat
  assert.deepEqual(parseInput('#weekend plans'), send({ type: 'message', content: '#weekend plans' }));
  assert.deepEqual(parseInput('#he said'), send({ type: 'message', content: '#he said' }));
  assert.equal(parseInput('#regster bob pw').kind, 'error');
});

test('closestName: one edit away (insertion, deletion, substitution, transposition), nothing further', () => {
  assert.equal(editDistance('regster', 'register'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(closestName('regster', COMMAND_NAMES), 'register');
  for (const typo of ['lst', 'lis', 'lisst', 'lust', 'lsit']) assert.equal(closestName(typo, COMMAND_NAMES), 'list', typo);
  assert.equal(closestName('histy', COMMAND_NAMES), null); // two edits from history
  assert.equal(closestName('x', COMMAND_NAMES), null);
  assert.equal(closestName('lol', COMMAND_NAMES), null);
});

test('one rule for / and #: a word one letter away from a command is caught, with the hint', () => {
  for (const [typed, meant] of [['lst', 'list'], ['lis', 'list'], ['lsit', 'list'], ['joim', 'join'], ['hlep', 'help'], ['loginn', 'login']]) {
    for (const prefix of ['/', '#']) {
      const action = parseInput(`${prefix}${typed} x`);
      assert.equal(action.kind, 'error', `${prefix}${typed}`);
      assert.match(action.kind === 'error' ? action.lines[0]! : '', new RegExp(`^Unknown command \\${prefix}${typed}: nothing was sent\\. Did you mean \\${prefix}${meant}\\?`));
    }
  }
  // two letters away: a hashtag is chat, and an unknown /word gets no hint
  assert.deepEqual(parseInput('#lisst2 x'), send({ type: 'message', content: '#lisst2 x' }));
  assert.doesNotMatch((parseInput('/histy') as { lines: string[] }).lines[0]!, /Did you mean/);
  // a password in a command mistyped twice is still masked
  assert.equal(loggableInput('/lgon alice pw12345678'), '/lgon alice ********');
});

test('/who without a room is the current room; /blocks /dms /more /online are the session\'s', () => {
  assert.deepEqual(parseInput('/who', inJokes), send({ type: 'who', roomid: 'jokes' }));
  assert.deepEqual(parseInput('/who', { room: '' }), { kind: 'error', lines: ['You are in no room: name one'] });
  assert.deepEqual(parseInput('/blocks'), { kind: 'view', view: 'blocks' });
  assert.deepEqual(parseInput('/dms'), { kind: 'view', view: 'dms' });
  assert.deepEqual(parseInput('/more'), { kind: 'view', view: 'more' });
  assert.deepEqual(parseInput('/online'), { kind: 'view', view: 'online' });
});

test('/help COMMAND shows one command from the same table; every command of the table is in /help', () => {
  assert.deepEqual(parseInput('/help join'), { kind: 'local', lines: ['usage: /join ROOM', '  move to a room'] });
  assert.deepEqual(parseInput('/help /LOGIN'), { kind: 'local', lines: commandHelp('login')! });
  assert.equal(parseInput('/help nosuch').kind, 'error');
  const help = helpLines().join('\n');
  for (const section of COMMAND_SECTIONS) {
    for (const [name, spec] of Object.entries(section.commands)) {
      assert.ok(help.includes(['/' + name, spec.synopsis].filter((s) => s !== '').join(' ')), name);
      assert.equal(commandHelp(name)![0], ['usage:', '/' + name, spec.synopsis].filter((s) => s !== '').join(' '));
    }
  }
  assert.deepEqual([...COMMAND_NAMES].sort(), COMMAND_SECTIONS.flatMap((s) => Object.keys(s.commands)).sort());
});

test('/get: a name from the server is made a safe basename; a name taken gets " (1)"', async () => {
  const { safeBasename, freeName } = await import('../../src/client/terminal/transfer');
  assert.equal(safeBasename('../../.bashrc'), 'bashrc');
  assert.equal(safeBasename('C:\\Users\\x\\notes.txt'), 'notes.txt');
  assert.equal(safeBasename('a\u0000b\u001b[2Jc.txt'), 'ab[2Jc.txt');
  assert.equal(safeBasename('..'), null);
  assert.equal(safeBasename('dir/'), null);
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-free-name-'));
  try {
    const target = path.join(dir, 'report.txt');
    assert.equal(freeName(target), target);
    fs.writeFileSync(target, '');
    assert.equal(freeName(target), path.join(dir, 'report (1).txt'));
    fs.writeFileSync(path.join(dir, 'report (1).txt'), '');
    assert.equal(freeName(target), path.join(dir, 'report (2).txt'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
