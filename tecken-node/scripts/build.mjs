// Builds the addon from source with @napi-rs/cli (a JS package: no binary downloads) and
// writes the generated index.js / index.d.ts, then makes index.d.ts import and re-export
// the hand-written JSON shapes of Eliot's APIs (types/v5.d.ts: napi cannot know them), so
// each type is declared once. `node scripts/build.mjs --debug` builds without --release.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(here, 'node_modules', '@napi-rs', 'cli', 'scripts', 'index.js')
const args = ['build', '--platform', '--js', 'index.js', '--dts', 'index.d.ts']
if (!process.argv.includes('--debug')) args.push('--release')
execFileSync(process.execPath, [cli, ...args], { cwd: here, stdio: 'inherit' })

const dts = join(here, 'index.d.ts')
const generated = readFileSync(dts, 'utf8')
const handWritten =
  '// The JSON of Eliot\'s /symbolicate/v5 and /symbolicate/v4 APIs and the error shape,\n' +
  '// written by hand in types/v5.d.ts (scripts/build.mjs adds these two lines).\n' +
  "import type { V4Request, V5Request } from './types/v5'\n" +
  "export * from './types/v5'\n"
writeFileSync(dts, handWritten + '\n' + generated.trimEnd() + '\n')

// The addon's allocator is mimalloc, which by default returns freed pages to the OS after
// 10 ms. V8's GC frees response buffers in batches, so without a longer delay nearly every
// response is written into freshly faulted, kernel-zeroed pages (20% of the CPU time of a
// large request in perf). Keep freed pages for 10 s unless the user chose otherwise. This
// must run before the addon is loaded: mimalloc reads its options once, at start-up.
const indexJs = join(here, 'index.js')
const loader = readFileSync(indexJs, 'utf8')
const marker = '// tecken-core: mimalloc purge delay\n'
if (!loader.includes(marker)) {
  writeFileSync(
    indexJs,
    marker +
      "if (process.env.MIMALLOC_PURGE_DELAY === undefined) process.env.MIMALLOC_PURGE_DELAY = '10000'\n" +
      loader,
  )
}
