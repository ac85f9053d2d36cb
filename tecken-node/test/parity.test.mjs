// The binding parity cases (fixtures/bindings/parity.json) against the Node binding. The
// core and the Python binding check the same cases, so the bindings cannot drift apart.
// Names in the fixture are the core's; Node spells them in camelCase, and a duration in
// seconds (`negative_ttl`) as `<camelCase>Ms` in milliseconds. Absent optional values
// are `null` in the fixture and left out by Node. See fixtures/bindings/README.md.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Index, SymbolStore, Symbolicator, UploadSessions, buildIndexSync, parseSymHeaderSync } from '../index.mjs'
import { root, tempDir } from './helpers.mjs'

const { cases } = JSON.parse(readFileSync(join(root, 'fixtures', 'bindings', 'parity.json'), 'utf8'))
const typings = readFileSync(join(root, 'tecken-node', 'index.d.ts'), 'utf8')

/** Options the core takes as a duration; the fixture gives seconds. */
const DURATIONS = new Set(['negative_ttl'])

const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

/** The property names `index.d.ts` declares for `interface name`. */
function declared(name) {
  const m = typings.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))
  assert.ok(m, `index.d.ts declares no interface ${name}`)
  return new Set([...m[1].matchAll(/^ {2}(\w+)\??:/gm)].map((x) => x[1]))
}

/** `options` (core names) in Node's spelling, each checked against `interface name`
 * (Node ignores a property it does not know, so a missing option would pass unseen). */
function nodeOptions(options = {}, name) {
  const fields = declared(name)
  const out = {}
  for (const [key, value] of Object.entries(options)) {
    const [k, v] = DURATIONS.has(key) ? [camel(key) + 'Ms', value * 1000] : [camel(key), value]
    assert.ok(fields.has(k), `${name} has no ${k} (the core's ${key})`)
    out[k] = v
  }
  return out
}

/** A value in the fixture's form in Node's spelling: camelCase keys, nulls left out. */
function toNode(value) {
  if (Array.isArray(value)) return value.map(toNode)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const [k, v] of Object.entries(value)) if (v !== null) out[camel(k)] = toNode(v)
  return out
}

/** A Node result without its absent (`undefined`) properties. */
function plain(value) {
  if (Array.isArray(value)) return value.map(plain)
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value
  const out = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v)
  return out
}

function inputBytes(c, key = 'sym') {
  return 'data' in c ? Buffer.from(c.data) : readFileSync(join(root, c[key]))
}

function buildOpen(t, c, options) {
  const out = join(tempDir(t), 'index')
  const report = buildIndexSync(inputBytes(c), out, options)
  return { report, index: Index.openSync(out) }
}

/** Checks that Node's frame type has exactly the fields of the fixture's frames. */
function checkFrameFields(frame) {
  const keys = (o) => new Set(Object.keys(o).map(camel))
  assert.deepEqual(declared('Frame'), keys(frame), 'Frame fields')
  for (const inline of frame.inlines) assert.deepEqual(declared('InlineFrame'), keys(inline), 'InlineFrame fields')
}

/** A local store with the case's archive uploaded, and the upload's result. */
async function uploaded(t, c) {
  const store = new SymbolStore(join(tempDir(t), 'store'))
  const result = await store.uploadArchive(join(root, c.archive), nodeOptions(c.options, 'UploadOptions'))
  return { store, result }
}

/** A thrown error in the fixture's form (Node spelling). */
function errorValue(e) {
  assert.ok(e.code?.startsWith('TECKEN_'), `not a tecken error: ${e}`)
  return { error: { kind: e.code.slice('TECKEN_'.length).toLowerCase(), status: e.status } }
}

function downloadValue(store, r) {
  try {
    const d = store.downloadSync(r.debug_file, r.debug_id, r.file, nodeOptions(r.options, 'DownloadOptions'))
    return { ...d, body: d.body?.toString() }
  } catch (e) {
    return errorValue(e)
  }
}

function symbolicator(c) {
  const sources = c.sources.map((s) => join(root, s))
  const sym = new Symbolicator(sources, nodeOptions(c.options, 'SymbolicatorOptions'))
  const body = 'request_text' in c ? c.request_text : JSON.stringify(c.request)
  return { sym, body }
}

/** Upload v2 actions, a session id shown as `<session>` (ids are random). */
function plannedValue(planned) {
  return planned.map((p) => (p.action.type === 'upload' ? { ...p, action: { ...p.action, session: '<session>' } } : p))
}

const OPS = {
  parse_sym_header: (t, c) => parseSymHeaderSync(inputBytes(c)),
  build_index: (t, c) => ({ header: buildOpen(t, c, nodeOptions(c.options, 'BuildIndexOptions')).report.header }),
  open_index: (t, c) => ({ header: Index.openSync(join(root, c.index)).header }),
  lookup: (t, c) => {
    const { index } = buildOpen(t, c)
    const options = nodeOptions(c.options, 'LookupOptions')
    for (const frame of c.expect) if (frame) checkFrameFields(frame)
    try {
      return c.addresses.map((a) => index.lookup(a, options))
    } finally {
      index.close()
    }
  },
  lookup_many: async (t, c) => {
    const { index } = buildOpen(t, c)
    const options = nodeOptions(c.options, 'LookupOptions')
    for (const frame of c.expect) if (frame) checkFrameFields(frame)
    try {
      const frames = await index.lookupMany(c.addresses, options)
      assert.deepEqual(index.lookupManySync(c.addresses, options), frames, 'lookupManySync')
      return frames
    } finally {
      index.close()
    }
  },
  index_meta: (t, c) => {
    const { report, index } = buildOpen(t, c, nodeOptions(c.options, 'BuildIndexOptions'))
    const meta = index.meta
    // buildIndex's report is the core's BuildReport: the same header and parse report.
    assert.deepEqual(
      { header: report.header, report: report.parse, inputBytes: report.inputBytes },
      meta,
      'BuildReport vs Index.meta',
    )
    index.close()
    return { meta }
  },
  verify: async (t, c) => {
    const { index } = buildOpen(t, c)
    index.verifySync()
    await index.verify()
    index.close()
    return { verified: true }
  },
  upload_archive: async (t, c) => ({ upload: (await uploaded(t, c)).result }),
  syminfo: async (t, c) => {
    const { store } = await uploaded(t, c)
    return Promise.all(c.queries.map(([file, id]) => store.syminfo(file, id)))
  },
  download: async (t, c) => {
    const { store } = await uploaded(t, c)
    const out = c.requests.map((r) => downloadValue(store, r))
    const first = c.requests[0]
    const viaPromise = await store.download(first.debug_file, first.debug_id, first.file, nodeOptions(first.options, 'DownloadOptions'))
    assert.deepEqual({ ...viaPromise, body: viaPromise.body?.toString() }, out[0], 'download vs downloadSync')
    return out
  },
  symbolicate_v5: (t, c) => {
    const { sym, body } = symbolicator(c)
    // The response is wire JSON, spelled as Eliot spells it: not renamed.
    return { response: JSON.parse(sym.symbolicateV5Sync(body).toString()) }
  },
  upload_v2: async (t, c) => {
    const data = inputBytes(c)
    const dir = tempDir(t)
    const store = new SymbolStore(join(dir, 'store'))
    const sessions = new UploadSessions(join(dir, 'sessions'))
    const options = nodeOptions(c.options, 'SessionUploadOptions')
    const spec = { key: c.key, size: data.length, md5_hash: createHash('md5').update(data).digest('hex') }
    const planned = await sessions.start(store, [spec], options)
    const chunks = []
    if (planned[0].action.type === 'upload') {
      let pos = 0
      for (const size of c.chunks) {
        const n = size === null ? data.length - pos : size
        const range = `bytes ${pos}-${pos + n - 1}/${data.length}`
        chunks.push(await sessions.putChunk(store, planned[0].action.session, range, data.subarray(pos, pos + n), options))
        pos += n
      }
    }
    const again = await sessions.start(store, [spec], options)
    return { planned: plannedValue(planned), chunks, again: plannedValue(again) }
  },
  symbolicate_v5_with_status: async (t, c) => {
    const { sym, body } = symbolicator(c)
    const r = await sym.symbolicateV5WithStatus(body)
    const sync = sym.symbolicateV5WithStatusSync(body)
    assert.deepEqual({ status: sync.status, body: sync.body.toString() }, { status: r.status, body: r.body.toString() })
    return { status: r.status, response: JSON.parse(r.body.toString()) }
  },
}

/** The names of ops whose `response` is wire JSON (Eliot's spelling, not renamed). */
const WIRE = new Set(['symbolicate_v5', 'symbolicate_v5_with_status'])

async function check(t, c) {
  const op = OPS[c.op]
  assert.ok(op, `unknown op ${c.op}: support it in this binding`)
  if (c.expect !== null && typeof c.expect === 'object' && 'error' in c.expect) {
    const want = c.expect.error
    await assert.rejects(
      async () => op(t, c),
      (e) => {
        assert.ok(e instanceof Error, `not an Error: ${e}`)
        assert.deepEqual(
          { code: e.code, status: e.status, body: e.body?.toString() },
          { code: 'TECKEN_' + want.kind.toUpperCase(), status: want.status, body: want.body },
          e.message,
        )
        return true
      },
    )
    return
  }
  const expected = WIRE.has(c.op) ? c.expect : toNode(c.expect)
  assert.deepEqual(plain(await op(t, c)), expected)
}

for (const c of cases) {
  const gap = c.gaps?.node
  test(`parity: ${c.name}`, async (t) => {
    if (gap === undefined) return check(t, c)
    try {
      await check(t, c)
    } catch (e) {
      t.todo(`${gap}: ${e.message.split('\n')[0]}`)
      return
    }
    assert.fail(`the Node gap is closed (${gap}): remove it from the case`)
  })
}
