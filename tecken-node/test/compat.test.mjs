// Tecken's request rules from the core: token labels and the Debug header of downloads.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { authTokenMatches, teckenDebugRequested } from '../index.mjs'

test('authTokenMatches: TOKEN and TOKEN-label, nothing else', () => {
  // mozilla-services/tecken tecken/tests/test_tokens.py: f"{token_key}-testtoken".
  const t = '6d1c6ae1a3b34c0e9a1f8c2e1b7d4f00'
  assert.equal(authTokenMatches(t, t), true)
  assert.equal(authTokenMatches(t, `${t}-testtoken`), true)
  assert.equal(authTokenMatches(t, `${t}x`), false)
  assert.equal(authTokenMatches(t, t.slice(0, 31)), false)
  assert.equal(authTokenMatches('', ''), false)
})

test('teckenDebugRequested: 1, true, yes in any case', () => {
  // mozilla-services/tecken tecken/base/decorators.py set_request_debug.
  for (const v of ['1', 'true', 'TRUE', 'yes']) assert.equal(teckenDebugRequested(v), true, v)
  for (const v of ['', '0', 'false', 'no']) assert.equal(teckenDebugRequested(v), false, v)
})
