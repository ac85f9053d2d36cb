// The v5/v4 API through Node, byte for byte: the golden suite (fixtures/tecken/golden) and
// every observed Eliot request (api-samples/eliot-symbolicate-observed.json), as
// tecken-core/tests/v5_golden.rs and v5_observed.rs check them in Rust.
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Symbolicator, parseSymHeaderSync } from '../index.mjs'
import { dumps, fixtures, rejectsWith, symFileName, tempDir } from './helpers.mjs'

/** Puts `sym` in `dir` under `debugFile/DEBUG_ID/symFile`. */
function place(dir, debugFile, debugId, sym) {
  const d = join(dir, debugFile, debugId.toUpperCase())
  mkdirSync(d, { recursive: true })
  writeFileSync(join(d, symFileName(debugFile)), sym)
}

test('golden suite: every response byte for byte', async (t) => {
  const files = readdirSync(join(fixtures, 'golden')).filter((f) => f.endsWith('.v5.json')).sort()
  assert.equal(files.length, 13)
  let frames = 0
  for (const name of files) {
    const golden = JSON.parse(readFileSync(join(fixtures, 'golden', name), 'utf8'))
    const sym = readFileSync(join(fixtures, golden.sym_fixture))
    // Each golden request is served from its own symbols directory, its fixture under
    // every memory map entry (as the Rust test's provider does).
    const dir = tempDir(t)
    for (const job of golden.request.jobs) {
      for (const [debugFile, debugId] of job.memoryMap) place(dir, debugFile, debugId, sym)
    }
    const symbolicator = new Symbolicator(dir)
    const got = await symbolicator.symbolicateV5(Buffer.from(dumps(golden.request)))
    assert.ok(Buffer.isBuffer(got))
    const want = dumps(golden.expected_response)
    assert.deepEqual(JSON.parse(got.toString('utf8')), golden.expected_response, `${name}: JSON differs`)
    assert.equal(got.toString('latin1'), want, `${name}: bytes differ`)
    frames += golden.expected_response.results[0].stacks[0].length
  }
  assert.ok(frames > 2000, `${frames} frames`)
})

// Where tecken-core answers differently from Eliot on purpose (see its v5 module docs).
const DELIBERATE = {
  'v5 boolean module index': [400, '{"title": "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_index"}'],
  'json number': [400, '{"title": "Payload is not a JSON object"}'],
  'json string': [400, '{"title": "Payload is not a JSON object"}'],
  'jobs is number': [400, '{"title": "jobs must be a list"}'],
}

/** The symbols Eliot had when the cases were observed (see v5_observed.rs). */
function eliotSymbols(t) {
  const dir = tempDir(t)
  for (const f of readdirSync(join(fixtures, 'eliot'))) {
    const sym = readFileSync(join(fixtures, 'eliot', f))
    const h = parseSymHeaderSync(sym)
    place(dir, h.debugFile, h.debugId, sym)
  }
  place(dir, 'junk.so', 'D48F191186D67E69DF025AD71FB91E1F0', 'this is not a sym file\n')
  const testproj = join(fixtures, 'eliot', 'testproj.D48F191186D67E69DF025AD71FB91E1F0.sym')
  mkdirSync(join(dir, 'wrongid.so', '000000000000000000000000000000000'), { recursive: true })
  copyFileSync(testproj, join(dir, 'wrongid.so', '000000000000000000000000000000000', 'wrongid.so.sym'))
  return dir
}

test('observed Eliot cases: results, and validation errors by code, status and body', async (t) => {
  const doc = JSON.parse(readFileSync(join(fixtures, 'api-samples', 'eliot-symbolicate-observed.json'), 'utf8'))
  const symbolicator = new Symbolicator(eliotSymbols(t))
  let ok = 0
  let rejected = 0
  for (const c of doc.cases) {
    if (c.method !== 'POST' || !['/symbolicate/v5', '/symbolicate/v4'].includes(c.path)) continue
    const body = typeof c.request_body === 'string' ? c.request_body : dumps(c.request_body)
    const debug = Boolean(c.request_headers?.Debug)
    const [status, want] = DELIBERATE[c.name] ?? [c.status, dumps(c.response)]
    const call = c.path.endsWith('v5')
      ? symbolicator.symbolicateV5(body, { debug })
      : symbolicator.symbolicateV4(body)
    if (status === 200) {
      const got = (await call).toString('latin1')
      if (debug) {
        // Timings differ run to run; the results are byte for byte.
        const results = (text) => dumps(JSON.parse(text).results)
        assert.equal(results(got), results(want), c.name)
        assert.deepEqual(Object.keys(JSON.parse(got).debug), Object.keys(JSON.parse(want).debug), c.name)
      } else {
        assert.equal(got, want, c.name)
      }
      ok++
    } else {
      const err = await rejectsWith(assert, call, 'TECKEN_BAD_REQUEST')
      assert.equal(err.status, status, c.name)
      assert.ok(Buffer.isBuffer(err.body), c.name)
      assert.equal(err.body.toString('latin1'), want, c.name)
      assert.equal(err.message, JSON.parse(want).title, c.name)
      rejected++
    }
  }
  assert.deepEqual([ok, rejected], [20, 28])
})

test('the body may be a string, a Buffer, a Uint8Array or an object: same bytes', async () => {
  const symbolicator = new Symbolicator(join(fixtures, '..', '..', 'examples', 'symbols'))
  const text = readFileSync(join(fixtures, '..', '..', 'examples', 'crash.v5.json'), 'utf8')
  const fromBuffer = await symbolicator.symbolicateV5(Buffer.from(text))
  assert.ok(fromBuffer.equals(await symbolicator.symbolicateV5(text)))
  assert.ok(fromBuffer.equals(await symbolicator.symbolicateV5(new Uint8Array(Buffer.from(text)))))
  assert.ok(fromBuffer.equals(await symbolicator.symbolicateV5(JSON.parse(text))))
  assert.ok(fromBuffer.equals(symbolicator.symbolicateV5Sync(text)))
  const v5 = JSON.parse(fromBuffer)
  assert.equal(v5.results.length, 1)
  assert.ok(v5.results[0].stacks[0].some((f) => f.function))
})

test('v4 through Node', async () => {
  const symbolicator = new Symbolicator(join(fixtures, '..', '..', 'examples', 'symbols'))
  const req = { memoryMap: [['xul.pdb', '0185139C8F04FFC94C4C44205044422E1']], stacks: [[[0, 0x5380], [-1, 1]]] }
  const v4 = JSON.parse(await symbolicator.symbolicateV4(req))
  assert.deepEqual(v4.knownModules, [true])
  assert.equal(v4.symbolicatedStacks[0].length, 2)
  assert.deepEqual(JSON.parse(symbolicator.symbolicateV4Sync(req)), v4)
})

test('with status: refused requests resolve with Eliot status and body; close', async () => {
  const symbolicator = new Symbolicator(join(fixtures, '..', '..', 'examples', 'symbols'))
  const req = { memoryMap: [['xul.pdb', '0185139C8F04FFC94C4C44205044422E1']], stacks: [[[0, 0x5380]]] }
  const ok = await symbolicator.symbolicateV4WithStatus(req)
  assert.equal(ok.status, 200)
  assert.ok(ok.body.equals(await symbolicator.symbolicateV4(req)))
  const bad = symbolicator.symbolicateV4WithStatusSync('{')
  assert.equal(bad.status, 400)
  assert.equal(typeof JSON.parse(bad.body).title, 'string')
  assert.equal(symbolicator.closed, false)
  symbolicator.close()
  assert.equal(symbolicator.closed, true)
  assert.throws(() => symbolicator.symbolicateV5Sync(req), { code: 'TECKEN_INVALID_INPUT' })
  await assert.rejects(symbolicator.symbolicateV5WithStatus(req), { code: 'TECKEN_INVALID_INPUT' })
  assert.throws(() => symbolicator.openModules, { code: 'TECKEN_INVALID_INPUT' })
})
