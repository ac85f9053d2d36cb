// stackwalk: the bundled minidumps (fixtures/minidumps) answer the JSON minidump-processor
// prints for them over breakpad-symbols; hostile dumps reject with clear errors.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { stackwalk, stackwalkSync } from '../index.mjs'
import { rejectsWith, root, tempDir } from './helpers.mjs'

const minidumps = join(root, 'fixtures', 'minidumps')
const symbols = join(minidumps, 'symbols')
const expected = (name) => JSON.parse(readFileSync(join(minidumps, `${name}.json`), 'utf8'))

for (const name of ['x86_64', 'arm64', 'x86']) {
  test(`${name}.dmp equals breakpad-symbols' JSON`, async (t) => {
    const dump = join(minidumps, `${name}.dmp`)
    // From a path and from a Buffer; with and without an index cache.
    const byPath = await stackwalk(dump, { symbols: [symbols] })
    assert.deepEqual(JSON.parse(byPath), expected(name))
    const cache = tempDir(t)
    const byBytes = await stackwalk(readFileSync(dump), { symbols, cache })
    assert.deepEqual(JSON.parse(byBytes), expected(name))
    assert.ok(readdirSync(cache).length > 0)
    const pretty = stackwalkSync(new Uint8Array(readFileSync(dump)), { symbols, cache, pretty: true })
    assert.deepEqual(JSON.parse(pretty), expected(name))
    assert.ok(pretty.includes('\n  ') && !byPath.includes('\n'))
  })
}

test('x86 frames are unwound by their STACK WIN and CFI records', async () => {
  const out = JSON.parse(await stackwalk(join(minidumps, 'x86.dmp'), { symbols }))
  const frames = out.threads[0].frames.slice(0, 3).map((f) => [f.function, f.trust])
  assert.deepEqual(frames, [
    ['crash_here(int)', 'context'],
    ['fpo_caller', 'cfi'],
    ['cfi_caller', 'cfi'],
  ])
})

test('bytes that are not a minidump reject with TECKEN_INVALID_INPUT', async () => {
  for (const bytes of [Buffer.alloc(0), Buffer.from('MDMP but not really'), Buffer.alloc(64)]) {
    const e = await rejectsWith(assert, stackwalk(bytes, { symbols }), 'TECKEN_INVALID_INPUT')
    assert.match(e.message, /minidump/)
  }
  assert.throws(() => stackwalkSync(Buffer.from('MDMP'), { symbols }), { code: 'TECKEN_INVALID_INPUT' })
})

test('a missing file or symbols directory rejects with TECKEN_NOT_FOUND', async (t) => {
  const dir = tempDir(t)
  const e = await rejectsWith(assert, stackwalk(join(dir, 'nope.dmp'), { symbols }), 'TECKEN_NOT_FOUND')
  assert.match(e.message, /nope\.dmp/)
  await rejectsWith(
    assert,
    stackwalk(join(minidumps, 'x86.dmp'), { symbols: join(dir, 'no-such-dir') }),
    'TECKEN_NOT_FOUND',
  )
})

test('missing or wrong arguments reject with TECKEN_INVALID_INPUT', async () => {
  await rejectsWith(assert, stackwalk(42, { symbols }), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, stackwalk(join(minidumps, 'x86.dmp')), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, stackwalk(join(minidumps, 'x86.dmp'), { symbols: [42] }), 'TECKEN_INVALID_INPUT')
})

test('a truncated dump rejects with TECKEN_INVALID_INPUT', async () => {
  const e = await rejectsWith(
    assert,
    stackwalk(join(minidumps, 'x86_64-truncated.dmp'), { symbols }),
    'TECKEN_INVALID_INPUT',
  )
  assert.match(e.message, /minidump/)
})

test('a dump whose stack size lies leaves the context frame alone', async () => {
  const out = JSON.parse(await stackwalk(join(minidumps, 'x86_64-lying.dmp'), { symbols }))
  const frames = out.threads[0].frames.map((f) => [f.function, f.trust])
  assert.deepEqual(frames, [['crash_here()', 'context']])
})
