// SymbolStore: upload, get, exists, syminfo, missing symbols and symbolication from the
// store, against a local directory and (when TECKEN_TEST_S3_ENDPOINT is set, see
// scripts/s3-server.sh) the real S3-compatible server the Rust tests use.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { SymbolStore, Symbolicator } from '../index.mjs'
import { examples, fixtures, makeZip, rejectsWith, tempDir } from './helpers.mjs'

const XUL_ID = '0185139C8F04FFC94C4C44205044422E1'
const XUL = readFileSync(join(examples, 'symbols', 'xul.pdb', XUL_ID, 'xul.sym'))
const TESTPROJ_ID = 'D48F191186D67E69DF025AD71FB91E1F0'
const TESTPROJ = readFileSync(join(fixtures, 'eliot', `testproj.${TESTPROJ_ID}.sym`))

async function exercise(t, store) {
  const dir = tempDir(t)
  const archive = join(dir, 'symbols.zip')
  writeFileSync(archive, makeZip([[`xul.pdb/${XUL_ID}/xul.sym`, XUL], ['build-symbols.txt', Buffer.from('hi')]]))

  // Upload from a path, with progress events.
  const events = []
  const result = await store.uploadArchive(archive, { onProgress: (e) => events.push(e) })
  assert.deepEqual(result.uploaded.map((f) => f.key), [`v1/xul.pdb/${XUL_ID}/xul.sym`])
  assert.equal(result.uploaded[0].size, XUL.length)
  assert.ok(result.uploaded[0].compressed)
  assert.deepEqual(result.ignored.map((f) => f.member), ['build-symbols.txt'])
  assert.equal(result.symbols[0].header.codeId.file, 'xul.dll')
  assert.equal(result.trySymbols, false)
  // Progress events arrive on the JS thread, possibly just after the Promise settles.
  await new Promise((r) => setImmediate(r))
  assert.equal(events.length, 1)
  assert.equal(events[0].key, `v1/xul.pdb/${XUL_ID}/xul.sym`)
  assert.equal(events[0].files, 1)
  assert.equal(events[0].filesTotal, 1)
  assert.equal(events[0].skipped, false)
  assert.equal(events[0].bytes, XUL.length)
  assert.equal(events[0].bytesTotal, XUL.length)

  // The same archive again, from a Buffer: everything skipped (Tecken's dedup).
  const skippedEvents = []
  const again = await store.uploadArchive(readFileSync(archive), { onProgress: (e) => skippedEvents.push(e) })
  assert.equal(again.uploaded.length, 0)
  assert.equal(again.skipped.length, 1)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(skippedEvents.map((e) => [e.key, e.skipped, e.files]), [[`v1/xul.pdb/${XUL_ID}/xul.sym`, true, 1]])

  // A Try upload of another module.
  const tryZip = makeZip([[`testproj/${TESTPROJ_ID}/testproj.sym`, TESTPROJ]])
  assert.equal((await store.uploadArchive(tryZip, { try: true, archiveName: 'try.zip' })).trySymbols, true)

  // Download side.
  assert.equal(await store.exists('xul.pdb', XUL_ID), true)
  assert.equal(await store.exists('xul.pdb', XUL_ID.toLowerCase(), 'xul.sym'), true)
  assert.equal(await store.exists('testproj', TESTPROJ_ID), false)
  assert.equal(await store.exists('testproj', TESTPROJ_ID, null, { try: true }), true)
  assert.ok((await store.get('xul.pdb', XUL_ID)).equals(XUL), 'decompressed bytes')
  assert.ok(store.getSync('xul.pdb', XUL_ID, 'xul.sym').equals(XUL))
  assert.equal(await store.get('testproj', TESTPROJ_ID), null)
  assert.ok((await store.get('testproj', TESTPROJ_ID, null, { try: true })).equals(TESTPROJ))
  // A code file and code id find the module (Tecken's redirect).
  assert.ok((await store.get('xul.dll', '60533C886EFD000', 'xul.sym')).equals(XUL))

  // syminfo by code file and id, and by debug file and id.
  const info = await store.syminfo('xul.dll', '60533C886EFD000')
  assert.equal(info.debugFilename, 'xul.pdb')
  assert.equal(info.debugId, XUL_ID)
  assert.equal(info.try, false)
  assert.equal((await store.syminfo('xul.pdb', XUL_ID)).codeFile, 'xul.dll')
  assert.equal(await store.syminfo('nothere.pdb', 'AB'), null)

  // Misses are recorded.
  assert.equal(await store.get('nothere.pdb', 'ABCDEF', null, { codeFile: 'nothere.dll', codeId: '5D' }), null)
  const csv = store.missingSymbolsCsv()
  assert.equal(csv, 'debug_file,debug_id,code_file,code_id\r\nnothere.pdb,ABCDEF,nothere.dll,5D\r\n')
  assert.match(store.missingSymbolsCsv({ since: new Date(Date.now() - 60_000), withCounts: true }), /,count,last_seen\r\nnothere\.pdb,ABCDEF,nothere\.dll,5D,1,/)
  assert.equal(store.missingSymbolsCsv({ since: Date.now() + 3_600_000 }), 'debug_file,debug_id,code_file,code_id\r\n')

  // Symbolication straight from the store answers as from the plain directory.
  const crash = readFileSync(join(examples, 'crash.v5.json'))
  const fromStore = await new Symbolicator(store).symbolicateV5(crash)
  const fromDir = new Symbolicator(join(examples, 'symbols'))
  const v5 = JSON.parse(fromStore)
  assert.equal(v5.results[0].found_modules[`xul.pdb/${XUL_ID}`], true)
  assert.deepEqual(
    v5.results[0].stacks[0].filter((f) => f.module === 'xul.dll'),
    JSON.parse(await fromDir.symbolicateV5(crash)).results[0].stacks[0].filter((f) => f.module === 'xul.dll'),
  )

  // Tecken's archive errors.
  await rejectsWith(assert, store.uploadArchive(join(fixtures, 'zips', 'notazipdespiteitsname.zip')), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, store.uploadArchive(tryZip, { archiveName: 'symbols.rar' }), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, store.uploadArchive(join(fixtures, 'zips', 'invalid.zip')), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, store.uploadArchive(42), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, store.get('xul.pdb', 'not-hex!'), 'TECKEN_INVALID_INPUT')
  const sample = await store.uploadArchive(join(fixtures, 'zips', 'sample.zip'))
  assert.equal(sample.uploaded.length, 2)
  assert.ok(sample.symbols[0].moduleMismatch)
}

test('local store: upload, download, syminfo, missing symbols, symbolication', async (t) => {
  const root = tempDir(t)
  const store = new SymbolStore(root)
  assert.match(store.description, /local/)
  await exercise(t, store)
  // The same directory as a file:// URL sees the same files.
  assert.equal(await new SymbolStore(`file://${root}`).exists('xul.pdb', XUL_ID), true)
})

test('S3 store against the test server', async (t) => {
  const endpoint = process.env.TECKEN_TEST_S3_ENDPOINT
  if (!endpoint) {
    t.skip('TECKEN_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)')
    return
  }
  const bucket = `tecken-node-${process.pid}-${Date.now()}`
  // moto accepts unsigned requests: create the bucket directly.
  const created = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' })
  assert.ok(created.ok, `create bucket: ${created.status}`)
  const s3 = { endpointUrl: endpoint, region: 'us-east-1', accessKeyId: 'testing', secretAccessKey: 'testing' }
  const store = new SymbolStore(`s3://${bucket}/symbols`, { s3 })
  assert.match(store.description, new RegExp(bucket))
  await exercise(t, store)
  // A chain: an empty local directory first, then S3.
  const chain = new SymbolStore([tempDir(t), `s3://${bucket}/symbols`], { s3 })
  assert.ok((await chain.get('xul.pdb', XUL_ID)).equals(XUL))
})

test('S3 store with the server down: TECKEN_STORAGE, never "not found"', async () => {
  const s3 = { endpointUrl: 'http://127.0.0.1:9', region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'x', maxAttempts: 1, connectTimeoutMs: 500 }
  const store = new SymbolStore('s3://nobucket', { s3 })
  const err = await rejectsWith(assert, store.exists('xul.pdb', XUL_ID), 'TECKEN_STORAGE')
  assert.equal(err.status, 503)
})

test('forgetUploaded: a module missing before its upload is found right after', async (t) => {
  const store = new SymbolStore(tempDir(t))
  const symbolicator = new Symbolicator(store)
  const body = JSON.stringify({ jobs: [{ memoryMap: [['testproj', TESTPROJ_ID]], stacks: [[[0, 0]]] }] })
  const found = async () => JSON.parse(await symbolicator.symbolicateV5(body)).results[0].found_modules[`testproj/${TESTPROJ_ID}`]
  assert.equal(await found(), false)
  const result = await store.uploadArchive(makeZip([[`testproj/${TESTPROJ_ID}/testproj.sym`, TESTPROJ]]))
  assert.equal(await found(), false, 'the negative cache still answers')
  symbolicator.forgetUploaded(result)
  assert.equal(await found(), true)
})
