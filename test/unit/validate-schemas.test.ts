import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_MESSAGE_TYPES, parseClientLine } from '../../src/protocol/validate';

// Validators are compiled on first use (a worker starts without them), so a schema Ajv's strict
// mode refuses would only throw when a client first sends that type: compile every one here.
test('every request type has a schema that compiles and judges a message of that type', () => {
  assert.ok(CLIENT_MESSAGE_TYPES.length > 30, JSON.stringify(CLIENT_MESSAGE_TYPES));
  for (const type of CLIENT_MESSAGE_TYPES) {
    const r = parseClientLine(JSON.stringify({ type }));
    assert.ok(r.ok || r.code === 'INVALID_FIELD', `${type}: ${JSON.stringify(r)}`);
  }
});
