// UploadSessions: Tecken's upload API v2 (a resumable session per file) for a Node server.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { test } from 'node:test'

import { SymbolStore, UploadSessions } from '../index.mjs'
import { rejectsWith, tempDir } from './helpers.mjs'

const KEY = 'xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym'
const SYM = Buffer.concat([
  Buffer.from('MODULE Linux x86_64 A7D6F1BB18CD4CB48 xpcshell.dbg\n'),
  ...Array.from({ length: 5000 }, (_, i) => Buffer.from(`FUNC ${(i * 16).toString(16)} 10 0 f${i}\n`)),
])
const md5 = (b) => createHash('md5').update(b).digest('hex')
const spec = (key, data) => ({ key, size: data.length, md5_hash: md5(data) })

test('a file sent in chunks is stored, then skipped', async (t) => {
  const dir = tempDir(t)
  const store = new SymbolStore(join(dir, 'store'))
  const sessions = new UploadSessions(join(dir, 'sessions'))
  const planned = await sessions.start(store, [spec(KEY, SYM), spec('bad.sym', Buffer.from('x'))])
  assert.deepEqual(planned.map((p) => p.key), [KEY, 'bad.sym'])
  assert.equal(planned[0].action.type, 'upload')
  assert.match(planned[0].action.session, /^[0-9a-f]{32}$/)
  assert.equal(planned[1].action.type, 'error')
  assert.match(planned[1].action.msg, /bad\.sym/)
  assert.equal(sessions.openCount(), 1)

  const id = planned[0].action.session
  const half = Math.floor(SYM.length / 2)
  const first = await sessions.putChunk(store, id, `bytes 0-${half - 1}/${SYM.length}`, SYM.subarray(0, half))
  assert.equal(first.complete, false)
  assert.equal(first.received, half)
  assert.equal(await store.get('xpcshell.dbg', 'A7D6F1BB18CD4CB48', 'xpcshell.sym'), null)
  const last = await sessions.putChunk(store, id, `bytes ${half}-${SYM.length - 1}/${SYM.length}`, SYM.subarray(half))
  assert.equal(last.complete, true)
  assert.equal(last.file.storageKey, `v1/${KEY}`)
  assert.equal(last.file.md5, md5(SYM))
  assert.equal(last.file.md5Base64, createHash('md5').update(SYM).digest('base64'))
  assert.deepEqual(last.result.uploaded.map((f) => f.key), [`v1/${KEY}`])
  assert.deepEqual(await store.get('xpcshell.dbg', 'A7D6F1BB18CD4CB48', 'xpcshell.sym'), SYM)
  // The last chunk again: the same file, no report.
  const again = await sessions.putChunk(store, id, `bytes ${half}-${SYM.length - 1}/${SYM.length}`, SYM.subarray(half))
  assert.deepEqual(again.file, last.file)
  assert.equal(again.result ?? null, null)
  const skip = await sessions.start(store, [spec(KEY, SYM)])
  assert.equal(skip[0].action.type, 'skip')
})

test('errors carry the core codes', async (t) => {
  const dir = tempDir(t)
  const store = new SymbolStore(join(dir, 'store'))
  const sessions = new UploadSessions(join(dir, 'sessions'), { maxFiles: 1 })
  await rejectsWith(assert, sessions.putChunk(store, '0'.repeat(32), 'bytes 0-0/1', Buffer.from('x')), 'TECKEN_NOT_FOUND')
  await rejectsWith(
    assert,
    sessions.start(store, [spec('a.so/ABC/a.so.sym', SYM), spec('b.so/ABC/b.so.sym', SYM)]),
    'TECKEN_LIMIT_EXCEEDED',
  )
  await rejectsWith(assert, sessions.start('not a store', []), 'TECKEN_INVALID_INPUT')
  const [p] = await sessions.start(store, [spec(KEY, SYM)])
  const wrong = Buffer.from(SYM)
  wrong[10] ^= 1
  await rejectsWith(
    assert,
    sessions.putChunk(store, p.action.session, `bytes 0-${SYM.length - 1}/${SYM.length}`, wrong),
    'TECKEN_INVALID_INPUT',
  )
  assert.throws(() => new UploadSessions(join(dir, 's2'), { ttlMs: -1 }), { code: 'TECKEN_INVALID_INPUT' })
})
