// The README's command table is the one the parser and /help use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandTableMarkdown, TABLE_END, TABLE_START } from '../../src/client/terminal/command-table';
import { COMMAND_NAMES } from '../../src/client/terminal/commands';

const README = path.resolve(__dirname, '..', '..', '..', 'README.md');

test('the README shows the command table generated from the parser\'s table', () => {
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  assert.ok(start > 0 && end > start, 'the README has the table markers');
  const shown = text.slice(start + TABLE_START.length, end).trim();
  assert.equal(shown, commandTableMarkdown(), 'regenerate it: node -e "console.log(require(\'./dist/src/client/terminal/command-table\').commandTableMarkdown())"');
  for (const name of COMMAND_NAMES) assert.ok(shown.includes(`| \`/${name}\` |`), name);
});

test('the README shows the screenshot, and it is a small PNG', () => {
  const text = fs.readFileSync(README, 'utf8');
  const match = /!\[[^\]]*\]\((docs\/screenshots\/[^)]+\.png)\)/.exec(text);
  assert.ok(match, 'a screenshot in the README');
  const png = fs.readFileSync(path.resolve(README, '..', match[1]!));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(png.length < 300_000, `${png.length} bytes`);
});
