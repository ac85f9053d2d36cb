#!/usr/bin/env node
// Uploads a Tecken symbols archive into a symbol store, showing progress:
//
//   node examples/node/upload.mjs ARCHIVE.zip STORE [--try]
//
// STORE is a directory (created if missing), `s3://bucket/prefix` (credentials and
// endpoint from the AWS environment: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, ...), or
// several of them. Example:
//
//   node examples/node/upload.mjs fixtures/tecken/zips/sample.zip /tmp/symbols-store
//
// The upload runs on libuv's thread pool, so the spinner keeps turning while it works.
import { stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'

import { SymbolStore } from '../../tecken-node/index.mjs'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { try: { type: 'boolean' } } })
if (positionals.length !== 2) {
  console.error('usage: upload.mjs ARCHIVE.zip STORE [--try]')
  process.exit(2)
}
const [archive, spec] = positionals
const store = new SymbolStore(spec)
const size = (await stat(archive)).size
const mb = (n) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(2)} MB`)
const tty = process.stderr.isTTY

const start = Date.now()
let progress = null
const spinner = '|/-\\'
let turn = 0
const status = () => {
  const t = `${spinner[turn++ % 4]} ${((Date.now() - start) / 1000).toFixed(1)} s`
  if (!progress) return t
  const { files, filesTotal, bytes, bytesTotal } = progress
  return `${t}, ${files}/${filesTotal} files, ${mb(bytes)} of ${mb(bytesTotal)} (${Math.floor((100 * bytes) / Math.max(bytesTotal, 1))}%)`
}
const timer = tty ? setInterval(() => process.stderr.write(`\r${status()}   `), 100) : null

console.log(`uploading ${archive} (${mb(size)}) to ${store.description}${values.try ? ' (Try)' : ''}`)
try {
  const result = await store.uploadArchive(archive, {
    try: values.try,
    onProgress(p) {
      progress = p
      const line = `  ${p.skipped ? 'already stored' : 'stored'} ${p.key} (${p.files}/${p.filesTotal})`
      if (tty) process.stderr.write(`\r${line.padEnd(70)}\n`)
      else console.log(line)
    },
  })
  if (timer) clearInterval(timer)
  if (tty) process.stderr.write('\r'.padEnd(72) + '\r')
  const seconds = ((Date.now() - start) / 1000).toFixed(2)
  console.log(`done in ${seconds} s: ${result.uploaded.length} uploaded, ${result.skipped.length} already stored, ${result.ignored.length} ignored (content hash ${result.contentHash})`)
  for (const f of result.uploaded) console.log(`  + ${f.key}  ${mb(f.size)} -> ${mb(f.storedSize)}${f.compressed ? ' (gzip)' : ''}`)
  for (const f of result.skipped) console.log(`  = ${f.key}  unchanged`)
  for (const f of result.ignored) console.log(`  - ${f.member}  ignored`)
  for (const s of result.symbols) {
    if (s.moduleMismatch) {
      const m = s.moduleMismatch
      console.log(`  ! ${s.key}: MODULE says ${m.moduleDebugFile}/${m.moduleDebugId}`)
    }
  }
} catch (err) {
  if (timer) clearInterval(timer)
  console.error(`\nupload failed: ${err.code}: ${err.message}`)
  process.exit(1)
}
