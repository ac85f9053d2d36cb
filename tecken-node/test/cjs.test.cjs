// The package works from CommonJS (require) and ESM (import), with the same classes.
const assert = require('node:assert/strict')
const { join } = require('node:path')
const { test } = require('node:test')

const cjs = require('..')

test('require() and import() give the same module', async () => {
  const esm = await import('../index.mjs')
  for (const name of ['SymbolStore', 'Symbolicator', 'Index', 'parseSymHeader', 'buildIndex', 'binaryId', 'version']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
  }
  assert.equal(esm.default, cjs)
})

test('symbolicateV5 from CommonJS', async () => {
  const s = new cjs.Symbolicator(join(__dirname, '..', '..', 'examples', 'symbols'))
  const out = JSON.parse(await s.symbolicateV5({ memoryMap: [['xul.pdb', '0185139C8F04FFC94C4C44205044422E1']], stacks: [[[0, 0x5380]]] }))
  assert.equal(out.results[0].stacks[0][0].function, 'somefunc')
})
