// binaryId: the ids dump_syms writes for an ELF, Mach-O or PE binary.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { binaryId, binaryIdSync, parseSymHeader } from '../index.mjs'
import { rejectsWith, root } from './helpers.mjs'

const generated = join(root, 'fixtures', 'generated')
const binaries = join(root, 'fixtures', 'binaries')

test('binaryId of an ELF matches the .sym dump_syms made from it', async () => {
  const id = await binaryId(readFileSync(join(generated, 'cdemo.elf')), 'cdemo')
  const h = await parseSymHeader(readFileSync(join(generated, 'cdemo.sym')))
  assert.deepEqual([id.os, id.arch, id.debugId, id.debugFile], [h.os, h.arch, h.debugId, h.debugFile])
  assert.equal(id.codeId, h.codeId.id)
  assert.equal(id.codeFile, undefined)
  assert.equal(id.key, `cdemo/${h.debugId}/cdemo.sym`)
  // A Uint8Array works too, and a path as the name is cut to its basename.
  const bytes = new Uint8Array(readFileSync(join(generated, 'cdemo.elf')))
  assert.deepEqual(binaryIdSync(bytes, '/usr/bin/cdemo'), id)
})

test('binaryId of a PE and of a universal Mach-O', async () => {
  const pe = await binaryId(readFileSync(join(binaries, 'tiny64.dll')), 'tiny64.dll')
  assert.deepEqual(pe, {
    os: 'windows',
    arch: 'x86_64',
    debugId: 'B1EF22ADB043FF764C4C44205044422E1',
    debugFile: 'tiny64.pdb',
    codeId: '18C8E99ED000',
    codeFile: 'tiny64.dll',
    key: 'tiny64.pdb/B1EF22ADB043FF764C4C44205044422E1/tiny64.sym',
  })
  const fat = readFileSync(join(binaries, 'libtiny_fat.dylib'))
  const arm = await binaryId(fat, 'libtiny.dylib', { arch: 'arm64' })
  assert.deepEqual([arm.os, arm.arch, arm.debugId], ['Mac', 'arm64', '4C4C447455553144A156208E8F08E9500'])
  await rejectsWith(assert, binaryId(fat, 'libtiny.dylib'), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, binaryId(fat, 'libtiny.dylib', { arch: 'ppc' }), 'TECKEN_NOT_FOUND')
})

test('binaryId rejects what is not a binary, and bad arguments', async () => {
  await rejectsWith(assert, binaryId(Buffer.from('MODULE Linux x86_64 0 x\n'), 'x'), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, binaryId(Buffer.alloc(0), 'x'), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, binaryId(Buffer.from('\x7fELF\x02\x01'), 'x'), 'TECKEN_INVALID_INPUT')
  await rejectsWith(assert, binaryId(Buffer.alloc(4)), 'TECKEN_INVALID_INPUT')
  assert.throws(() => binaryIdSync(Buffer.alloc(4), 'x'), (e) => e.code === 'TECKEN_INVALID_INPUT')
})
