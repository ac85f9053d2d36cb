// Shared by the tests: paths, the binding, CPython's json.dumps, a tiny zip writer.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = dirname(fileURLToPath(import.meta.url))
export const root = join(here, '..', '..')
export const fixtures = join(root, 'fixtures', 'tecken')
export const examples = join(root, 'examples')

/** A temporary directory removed when the test ends. */
export function tempDir(t, prefix = 'tecken-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** `xul.pdb` -> `xul.sym`, `libxul.so` -> `libxul.so.sym` (Tecken's rule). */
export function symFileName(debugFile) {
  return debugFile.endsWith('.pdb') ? debugFile.slice(0, -4) + '.sym' : debugFile + '.sym'
}

function dumpsString(s) {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ch = s[i]
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + '"'
}

/**
 * CPython's `json.dumps(value)` with default arguments, as Eliot writes responses:
 * separators `", "` and `": "`, `ensure_ascii=True` (UTF-16 units as `\uXXXX`, lower-case).
 * Object key order is JSON.parse's, which keeps the file's order for non-integer keys.
 */
export function dumps(v) {
  if (v === null) return 'null'
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('non-finite number')
    return String(v)
  }
  if (typeof v === 'string') return dumpsString(v)
  if (Array.isArray(v)) return '[' + v.map(dumps).join(', ') + ']'
  return '{' + Object.entries(v).map(([k, x]) => dumpsString(k) + ': ' + dumps(x)).join(', ') + '}'
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A zip (stored, no compression) of `members`: `[name, Buffer][]`. */
export function makeZip(members) {
  const locals = []
  const centrals = []
  let offset = 0
  for (const [name, data] of members) {
    const n = Buffer.from(name)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(n.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(n.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, n, data)
    centrals.push(central, n)
    offset += 30 + n.length + data.length
  }
  const dir = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(members.length, 8)
  end.writeUInt16LE(members.length, 10)
  end.writeUInt32LE(dir.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, dir, end])
}

/** Asserts that `promise` rejects with an Error whose `code` is `code`; returns the error. */
export async function rejectsWith(assert, promise, code) {
  let err
  await assert.rejects(promise, (e) => {
    err = e
    return true
  })
  assert.ok(err instanceof Error, `not an Error: ${err}`)
  assert.equal(err.code, code, `${err.code}: ${err.message}`)
  return err
}
