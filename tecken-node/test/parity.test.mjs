// The binding parity cases (fixtures/bindings/parity.json) against the Node binding. The
// core and the Python binding check the same cases, so the bindings cannot drift apart.
// Names in the fixture are the core's; Node spells them in camelCase, and a duration in
// seconds (`negative_ttl`) as `<camelCase>Ms` in milliseconds. Absent optional values
// are `null` in the fixture and left out by Node. See fixtures/bindings/README.md.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Index, Symbolicator, buildIndexSync, parseSymHeaderSync } from '../index.mjs'
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
  symbolicate_v5: (t, c) => {
    const sources = c.sources.map((s) => join(root, s))
    const sym = new Symbolicator(sources, nodeOptions(c.options, 'SymbolicatorOptions'))
    const body = 'request_text' in c ? c.request_text : JSON.stringify(c.request)
    // The response is wire JSON, spelled as Eliot spells it: not renamed.
    return { response: JSON.parse(sym.symbolicateV5Sync(body).toString()) }
  },
}

function check(t, c) {
  const op = OPS[c.op]
  assert.ok(op, `unknown op ${c.op}: support it in this binding`)
  if (c.expect !== null && typeof c.expect === 'object' && 'error' in c.expect) {
    const want = c.expect.error
    assert.throws(
      () => op(t, c),
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
  const expected = c.op === 'symbolicate_v5' ? c.expect : toNode(c.expect)
  assert.deepEqual(plain(op(t, c)), expected)
}

for (const c of cases) {
  const gap = c.gaps?.node
  test(`parity: ${c.name}`, (t) => {
    if (gap === undefined) return check(t, c)
    try {
      check(t, c)
    } catch (e) {
      t.todo(`${gap}: ${e.message.split('\n')[0]}`)
      return
    }
    assert.fail(`the Node gap is closed (${gap}): remove it from the case`)
  })
}
