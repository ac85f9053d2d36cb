// Bad input of every kind rejects (never throws, never crashes) with a stable `code`.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Index, SymbolStore, Symbolicator, buildIndex, parseSymHeader } from '../index.mjs'
import { examples, here, rejectsWith, tempDir } from './helpers.mjs'

const symbolicator = new Symbolicator(join(examples, 'symbols'))

test('wrong body types reject with TECKEN_INVALID_INPUT', async () => {
  for (const body of [undefined, null, 42, true, 10n, Symbol('x'), () => 1, new Float64Array(2)]) {
    const err = await rejectsWith(assert, symbolicator.symbolicateV5(body), 'TECKEN_INVALID_INPUT')
    assert.equal(err.status, 400)
  }
  const cyclic = {}
  cyclic.self = cyclic
  await rejectsWith(assert, symbolicator.symbolicateV5(cyclic), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, symbolicator.symbolicateV5({ n: 1n }), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, symbolicator.symbolicateV5('{}', { debug: 'yes' }), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, symbolicator.symbolicateV4(7), 'TECKEN_INVALID_INPUT')
  assert.throws(() => symbolicator.symbolicateV5Sync(7), { code: 'TECKEN_INVALID_INPUT' })
})

test('invalid JSON, hostile nesting and huge bodies reject with TECKEN_BAD_REQUEST and a status', async () => {
  let err = await rejectsWith(assert, symbolicator.symbolicateV5('{"jobs": ['), 'TECKEN_BAD_REQUEST')
  assert.equal(err.status, 400)
  assert.equal(err.body.toString(), '{"title": "Payload is not valid JSON"}')
  err = await rejectsWith(assert, symbolicator.symbolicateV5('['.repeat(100_000)), 'TECKEN_BAD_REQUEST')
  assert.equal(err.status, 400)
  // Over the 10 MiB default: 413 before anything is parsed.
  const huge = Buffer.alloc(11 << 20, 0x20)
  err = await rejectsWith(assert, symbolicator.symbolicateV5(huge), 'TECKEN_BAD_REQUEST')
  assert.equal(err.status, 413)
  // Too many frames for the configured limit: 413.
  const small = new Symbolicator(join(examples, 'symbols'), { maxFrames: 10 })
  const stack = Array.from({ length: 11 }, (_, i) => [0, i])
  err = await rejectsWith(assert, small.symbolicateV5({ memoryMap: [['a.so', 'AB']], stacks: [stack] }), 'TECKEN_BAD_REQUEST')
  assert.equal(err.status, 413)
})

test('errors are Errors with code, status and a cause chain', async (t) => {
  const err = await rejectsWith(assert, Index.open(join(tempDir(t), 'missing.tidx')), 'TECKEN_NOT_FOUND')
  assert.equal(err.status, 404)
  assert.ok(err.cause instanceof Error, 'the io::Error is the cause')
  assert.equal(err.cause.code, undefined)
  await rejectsWith(assert, Index.open(42), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, parseSymHeader(Buffer.from('not a sym file\n')), 'TECKEN_MALFORMED_SYM')
  await rejectsWith(assert, parseSymHeader({}), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, buildIndex(Buffer.from('MODULE Linux x86_64 AB a\nFUNC zz\n'), join(tempDir(t), 'x'), { strict: true }), 'TECKEN_MALFORMED_SYM')
  await rejectsWith(assert, buildIndex(Buffer.from('x'), 42), 'TECKEN_INVALID_INPUT')
})

test('a corrupt index file rejects with TECKEN_CORRUPT_INDEX', async (t) => {
  const path = join(tempDir(t), 'bad.tidx')
  const { writeFileSync } = await import('node:fs')
  // Right magic and version, then garbage.
  const bytes = Buffer.alloc(200, 0xff)
  bytes.write('TECKNIDX', 0)
  bytes.writeUInt32LE(3, 8) // the current index format version
  writeFileSync(path, bytes)
  await rejectsWith(assert, Index.open(path), 'TECKEN_CORRUPT_INDEX')
})

test('constructors and sync calls throw (they cannot reject) with codes', (t) => {
  assert.throws(() => new SymbolStore(42), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => new SymbolStore([]), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => new SymbolStore('http://x', { http: { layout: 'ftp' } }), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => new Symbolicator(42), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => new Symbolicator('.', { maxJobs: 'ten' }), { code: 'TECKEN_INVALID_INPUT' })
  // Source strings are the core's specs, as in Python and the CLI: a missing directory is an
  // error (not "every module missing"), an unknown scheme is refused, s3:// is a bucket.
  assert.throws(() => new Symbolicator(join(tempDir(t), 'nosuchdir')), { code: 'TECKEN_NOT_FOUND' })
  assert.throws(() => new Symbolicator('ftp://symbols.example/'), { code: 'TECKEN_INVALID_INPUT' })
  assert.ok(new Symbolicator('s3://bucket/prefix', { maxNegativeEntries: 10 }))
  const store = new SymbolStore(tempDir(t))
  assert.throws(() => store.getSync('../etc', 'AB'), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => store.missingSymbolsCsv({ since: 'yesterday' }), { code: 'TECKEN_INVALID_INPUT' })
  // Only the modes that answer with bytes have names (the core's streams do not).
  for (const body of ['gzip', 'Decoded', 'decoded_stream', 'stored_stream']) {
    assert.throws(() => store.downloadSync('xul.pdb', 'AB', 'xul.sym', { body }), { code: 'TECKEN_INVALID_INPUT' })
  }
})

test('a panic inside Rust is a rejected Promise (or a thrown error), not a crash', async () => {
  const native = createRequire(import.meta.url)('../index.js')
  // The hidden test hooks live on the native module itself.
  const addon = readdirSync(join(here, '..')).find((f) => f.endsWith('.node'))
  const hooks = createRequire(import.meta.url)(join(here, '..', addon))
  assert.ok(native.Symbolicator)
  const err = await rejectsWith(assert, hooks.__panicForTests(), 'TECKEN_INTERNAL')
  assert.match(err.message, /panic/)
  assert.throws(() => hooks.__panicForTestsSync(), { code: 'TECKEN_INTERNAL' })
  // The process and the module still work.
  assert.ok(Buffer.isBuffer(await symbolicator.symbolicateV5('{"stacks": [[]], "memoryMap": []}')))
})
