import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpLines, parseInput, replyMatcher } from '../../src/client/terminal/commands';

const send = (message: object) => ({ kind: 'send', message });

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

test('anything else is a message, exactly as typed', () => {
  assert.deepEqual(parseInput('hello world'), send({ type: 'message', content: 'hello world' }));
  assert.deepEqual(parseInput('  spaced  '), send({ type: 'message', content: '  spaced  ' }));
  assert.deepEqual(parseInput('#hashtag fun'), send({ type: 'message', content: '#hashtag fun' }));
  assert.deepEqual(parseInput('/shrug'), send({ type: 'message', content: '/shrug' }));
  assert.deepEqual(parseInput('# join x'), send({ type: 'message', content: '# join x' }));
  assert.deepEqual(parseInput('#toString x'), send({ type: 'message', content: '#toString x' }));
  assert.deepEqual(parseInput('crlf\r'), send({ type: 'message', content: 'crlf' }));
});

test('blank lines do nothing', () => {
  assert.deepEqual(parseInput(''), { kind: 'none' });
  assert.deepEqual(parseInput('   '), { kind: 'none' });
});

test('missing or extra arguments give a local usage line', () => {
  assert.deepEqual(parseInput('#join'), { kind: 'local', lines: ['usage: #join ROOM'] });
  assert.deepEqual(parseInput('/identitychange'), { kind: 'local', lines: ['usage: /identitychange NAME'] });
  assert.deepEqual(parseInput('#who a b'), { kind: 'local', lines: ['usage: #who ROOM'] });
  assert.deepEqual(parseInput('#list all'), { kind: 'local', lines: ['usage: #list'] });
});

test('help is local and lists every command', () => {
  const help = parseInput('/help');
  assert.equal(help.kind, 'local');
  assert.deepEqual(help.kind === 'local' && help.lines, helpLines());
  for (const name of ['identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'quit', 'help']) {
    assert.ok(helpLines().some((l) => l.includes('#' + name)), name);
  }
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
});
