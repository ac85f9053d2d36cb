// parseSymHeader, buildIndex, Index.open and lookup.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Index, buildIndex, buildIndexSync, parseSymHeader, parseSymHeaderSync, version } from '../index.mjs'
import { fixtures, rejectsWith, tempDir } from './helpers.mjs'

const INLINES = join(fixtures, 'eliot', 'testproj-inlines.0905AE80CEE75A33E3CAB61C274274DE0.sym')
const XUL = join(fixtures, 'eliot', 'xul-pe.0185139C8F04FFC94C4C44205044422E1.sym')

test('parseSymHeader reads MODULE and INFO records', async () => {
  const h = await parseSymHeader(readFileSync(XUL))
  assert.equal(h.os, 'windows')
  assert.equal(h.debugFile, 'xul.pdb')
  assert.equal(h.debugId, '0185139C8F04FFC94C4C44205044422E1')
  // The core's shape, as the Python binding has it: `INFO CODE_ID <id> xul.dll` first.
  assert.equal(h.codeId.file, 'xul.dll')
  assert.equal(typeof h.codeId.id, 'string')
  assert.equal(h.firstInfoIsPeCodeId, true)
  assert.ok(Array.isArray(h.info) && h.info.every((kv) => kv.length === 2))
  assert.deepEqual(parseSymHeaderSync(readFileSync(XUL).toString()), h)
})

test('buildIndex from a path and from a Buffer; Index.open; lookup with inlines', async (t) => {
  const dir = tempDir(t)
  const report = await buildIndex(INLINES, join(dir, 'a.tidx'))
  assert.equal(report.header.debugFile, 'testproj')
  assert.ok(report.parse.funcs > 0 && report.indexBytes > 0)
  assert.deepEqual(buildIndexSync(readFileSync(INLINES), join(dir, 'b.tidx')), report)
  assert.ok(readFileSync(join(dir, 'a.tidx')).equals(readFileSync(join(dir, 'b.tidx'))))

  const index = await Index.open(join(dir, 'a.tidx'))
  assert.equal(index.header.debugId, '0905AE80CEE75A33E3CAB61C274274DE0')
  assert.ok(index.sizeBytes > 0)
  const f = index.lookup(0x7a40)
  assert.equal(f.function, 'testproj::main')
  assert.equal(f.functionOffset, 0)
  assert.equal(f.kind, 'func')
  assert.equal(f.line, 4)
  assert.deepEqual(f.inlines.map((i) => i.function), ['core::fmt::Arguments::new_v1', 'testproj::helper::inner', 'testproj::helper::middle'])
  // Inline frames carry the FILE record's raw path too, as the Python binding's do.
  for (const i of f.inlines) assert.equal(typeof i.rawFile, 'string')
  assert.ok(f.inlines.every((i) => i.rawFile.endsWith(i.file.split('/').pop())))
  assert.deepEqual(index.lookup(0x7a40n), f, 'bigint addresses')
  assert.equal(index.lookup(0), null)
  assert.deepEqual(Index.openSync(join(dir, 'b.tidx')).lookup(0x7a41), index.lookup(0x7a41))
  // Addresses must be non-negative integers.
  for (const bad of [-1, 1.5, 'x', 2 ** 64 + 0.5, -1n, 2n ** 64n]) assert.throws(() => index.lookup(bad), { code: 'TECKEN_INVALID_INPUT' })
  assert.equal(index.isMapped, true)
  assert.equal(index.closed, false)
  const pending = index.lookupMany([0x7a40, 0])
  index.close()
  // A batch already started keeps its own reference to the index.
  assert.deepEqual(await pending, [f, null])
  assert.equal(index.closed, true)
  assert.throws(() => index.lookup(0x7a40), { code: 'TECKEN_INVALID_INPUT' })
  await rejectsWith(assert, index.lookupMany([0x7a40]), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, index.verify(), 'TECKEN_INVALID_INPUT')
  assert.throws(() => index.meta, { code: 'TECKEN_INVALID_INPUT' })
})

test('verify rejects an index whose bytes were changed after the build', async (t) => {
  const dir = tempDir(t)
  await buildIndex(INLINES, join(dir, 'a.tidx'))
  const { writeFileSync } = await import('node:fs')
  const bytes = Buffer.from(readFileSync(join(dir, 'a.tidx')))
  bytes[bytes.length - 1] ^= 0xff
  writeFileSync(join(dir, 'flipped.tidx'), bytes)
  const index = Index.openSync(join(dir, 'flipped.tidx'))
  await rejectsWith(assert, index.verify(), 'TECKEN_CORRUPT_INDEX')
  assert.throws(() => index.verifySync(), { code: 'TECKEN_CORRUPT_INDEX' })
  await rejectsWith(assert, index.lookupMany([0x7a40, 'x']), 'TECKEN_INVALID_INPUT')
})

test('version', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/)
})

test('a truncated index rejects as corrupt', async (t) => {
  const dir = tempDir(t)
  await buildIndex(INLINES, join(dir, 'a.tidx'))
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(dir, 'cut.tidx'), readFileSync(join(dir, 'a.tidx')).subarray(0, 100))
  await rejectsWith(assert, Index.open(join(dir, 'cut.tidx')), 'TECKEN_CORRUPT_INDEX')
})
