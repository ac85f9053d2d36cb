// Frames per second through `symbolicateV5` from Node, against the same request through
// tecken-core in Rust (`bench-v5`, a binary of benches/), in one run, and the ratio.
//
//   benches/run.sh node [SECONDS]     (needs `npm run build` in tecken-node first)
//   npm run bench                     (in tecken-node: node ../benches/node/bench.mjs)
//
// `benches/run.sh node` builds `bench-v5` and passes its path in BENCH_V5; run directly,
// the script builds it with cargo.
//
// Like with like: the same symbols (examples/symbols) and request bytes, one warm
// Symbolicator per side (indexes built in memory before timing), the same number of calls
// in flight: one at a time (Node awaits each Promise before the next; Rust loops on one
// thread), then 4 (4 Promises in flight on libuv's pool, UV_THREADPOOL_SIZE=4 by default;
// 4 Rust threads). The difference is the binding's cost per call: copying the body in, the
// hop to the pool and back, the Buffer out and its memory, freed later by V8's GC. Rounds
// alternate Rust and Node and the best of each is kept (the machine is shared).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { Symbolicator } from '../../tecken-node/index.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const symbols = join(root, 'examples', 'symbols')
const seconds = Number(process.argv[2] ?? 2)
const ROUNDS = 5
const CONCURRENCY = 4

const crash = JSON.parse(readFileSync(join(root, 'examples', 'crash.v5.json'), 'utf8'))
/** The crash stack repeated `n` times, offsets spread so lookups differ. */
function big(n) {
  const { memoryMap, stacks } = crash.jobs[0]
  const stack = []
  for (let r = 0; r < n; r++) for (const [m, off] of stacks[0]) stack.push([m, off < 0 ? off : off + (r % 97)])
  return { jobs: [{ memoryMap, stacks: [stack] }] }
}
const frames = (req) => req.jobs.reduce((n, j) => n + j.stacks.reduce((k, s) => k + s.length, 0), 0)

const tmp = mkdtempSync(join(tmpdir(), 'tecken-bench-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
const requests = [
  ['crash.v5.json', crash],
  ['crash x 100', big(100)],
  ['crash x 2000', big(2000)],
].map(([name, req]) => {
  const path = join(tmp, `${name.replace(/\W+/g, '_')}.json`)
  writeFileSync(path, JSON.stringify(req))
  return { name, path, body: readFileSync(path), frames: frames(req) }
})

function rustBinary() {
  if (process.env.BENCH_V5) return process.env.BENCH_V5
  console.error('building the Rust side (cargo build --release -p tecken-benches --bin bench-v5)...')
  execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'tecken-benches', '--bin', 'bench-v5'], { cwd: root, stdio: 'inherit' })
  const targetDir = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: root })).target_directory
  return join(targetDir, 'release', 'bench-v5')
}
const rustBin = rustBinary()

function rust(req, threads) {
  const out = JSON.parse(execFileSync(rustBin, [symbols, req.path, String(seconds), String(threads)]))
  return (out.calls * req.frames) / out.seconds
}

async function node(req, symbolicator, concurrency) {
  await symbolicator.symbolicateV5(req.body)
  let calls = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(Math.round(seconds * 1e9))
  const lane = async () => {
    while (process.hrtime.bigint() < deadline) {
      await symbolicator.symbolicateV5(req.body)
      calls++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  return (calls * req.frames) / secs
}

const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(12)
const pct = (node, rust) => `${((1 - node / rust) * 100).toFixed(1).padStart(6)}%`
console.log(`frames/s through symbolicateV5, ${seconds} s per measurement, best of ${ROUNDS} (${CONCURRENCY} in flight: best of 2)`)
console.log(
  `${'request'.padEnd(16)}${'frames'.padStart(8)}${'Rust'.padStart(13)}${'Node'.padStart(13)}  overhead` +
    `${`Rust x${CONCURRENCY}`.padStart(13)}${`Node x${CONCURRENCY}`.padStart(13)}  overhead`,
)
for (const req of requests) {
  const symbolicator = new Symbolicator(symbols)
  const best = { rust: 0, node: 0, rustN: 0, nodeN: 0 }
  for (let r = 0; r < ROUNDS; r++) {
    best.rust = Math.max(best.rust, rust(req, 1))
    best.node = Math.max(best.node, await node(req, symbolicator, 1))
    if (r < 2) {
      best.rustN = Math.max(best.rustN, rust(req, CONCURRENCY))
      best.nodeN = Math.max(best.nodeN, await node(req, symbolicator, CONCURRENCY))
    }
  }
  console.log(
    `${req.name.padEnd(16)}${String(req.frames).padStart(8)} ${fmt(best.rust)} ${fmt(best.node)}  ${pct(best.node, best.rust)}` +
      ` ${fmt(best.rustN)} ${fmt(best.nodeN)}  ${pct(best.nodeN, best.rustN)}`,
  )
}
