#!/usr/bin/env node
// Prints a crash report's stacks symbolicated, one readable line per frame:
//
//   node examples/node/symbolicate.mjs [--symbols DIR | --store SPEC] [--debug] [REQUEST.json]
//
// REQUEST.json is a /symbolicate/v5 request (default: examples/crash.v5.json); DIR a
// symbols directory in Tecken's layout (default: examples/symbols); SPEC a symbol store
// (`s3://bucket/prefix`, `https://symbols.mozilla.org/`, or a store directory).
// Build the binding first: cd tecken-node && npm install && npm run build
import { readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

// From an installed package this is `import { ... } from 'tecken-core'`.
import { SymbolStore, Symbolicator } from '../../tecken-node/index.mjs'

const examples = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { symbols: { type: 'string' }, store: { type: 'string' }, debug: { type: 'boolean' } },
})
const source = values.store ? new SymbolStore(values.store) : (values.symbols ?? join(examples, 'symbols'))
const request = await readFile(positionals[0] ?? join(examples, 'crash.v5.json'))

const symbolicator = new Symbolicator(source)
let response
try {
  response = JSON.parse(await symbolicator.symbolicateV5(request, { debug: values.debug }))
} catch (err) {
  // Validation errors carry Eliot's status and title; everything has a stable code.
  console.error(`${err.code}${err.status ? ` (HTTP ${err.status})` : ''}: ${err.message}`)
  process.exit(1)
}

/**
 * `[expr.cpp:52]`: the file's last path component and the line, when known. Version-control
 * paths (`hg:hg.mozilla.org/mozilla-central:dom/base/nsFoo.cpp:REV`) show their path part.
 */
function where(f) {
  if (!f.file) return ''
  const parts = f.file.split(':')
  const path = /^(hg|git|svn|cvs|s3)$/.test(parts[0]) && parts.length >= 3 ? parts[2] : f.file
  const name = basename(path.replaceAll('\\', '/'))
  return f.line ? ` [${name}:${f.line}]` : ` [${name}]`
}

for (const [j, job] of response.results.entries()) {
  for (const [s, stack] of job.stacks.entries()) {
    console.log(`job ${j}, stack ${s}:`)
    for (const frame of stack) {
      const n = `#${frame.frame}`
      if (!frame.function) {
        console.log(`${n} ${frame.module}+${frame.module_offset}`)
        continue
      }
      console.log(`${n} ${frame.module}!${frame.function}${where(frame)}`)
      // Inlined calls, innermost first: each at its position inside that function.
      for (const inline of frame.inlines ?? []) {
        console.log(`${' '.repeat(n.length)}   inlined ${inline.function}${where(inline)}`)
      }
    }
  }
  const missing = Object.entries(job.found_modules).filter(([, found]) => found === false)
  if (missing.length) console.log(`no symbols for: ${missing.map(([m]) => m).join(', ')}`)
}
if (response.debug) console.log('debug:', JSON.stringify(response.debug))
