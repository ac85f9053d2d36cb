// Many calls at once: same answers as one at a time, and the event loop keeps turning
// while they run on the thread pool. No timing thresholds: the ticker counts event-loop
// turns, and the Sync variants show what "blocked" looks like (no turn at all).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'

import { Symbolicator } from '../index.mjs'
import { examples, here } from './helpers.mjs'

const crash = JSON.parse(readFileSync(join(examples, 'crash.v5.json'), 'utf8'))

/** Requests that differ: the crash stack shifted by `i` bytes, and repeated. */
function request(i) {
  const job = crash.jobs[0]
  const stack = []
  for (let r = 0; r < 200; r++) for (const [m, off] of job.stacks[0]) stack.push([m, off < 0 ? off : off + ((i + r) % 64)])
  return JSON.stringify({ jobs: [{ memoryMap: job.memoryMap, stacks: [stack] }] })
}

/** Counts event-loop turns until stopped. */
function ticker() {
  let ticks = 0
  let running = true
  const tick = () => {
    ticks++
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  return { get ticks() { return ticks }, stop() { running = false } }
}

test('200 concurrent symbolicateV5 calls equal the sequential answers', async () => {
  const symbolicator = new Symbolicator(join(examples, 'symbols'))
  const bodies = Array.from({ length: 200 }, (_, i) => request(i))
  const sequential = []
  for (const b of bodies) sequential.push(symbolicator.symbolicateV5Sync(b))
  const concurrent = await Promise.all(bodies.map((b) => symbolicator.symbolicateV5(b)))
  for (let i = 0; i < bodies.length; i++) assert.ok(concurrent[i].equals(sequential[i]), `request ${i}`)
})

test('the event loop turns while calls run, and not during Sync calls', async () => {
  const symbolicator = new Symbolicator(join(examples, 'symbols'))
  const bodies = Array.from({ length: 64 }, (_, i) => request(i))
  await symbolicator.symbolicateV5(bodies[0]) // indexes built before counting

  const blocked = ticker()
  for (const b of bodies) symbolicator.symbolicateV5Sync(b)
  const duringSync = blocked.ticks
  blocked.stop()
  assert.equal(duringSync, 0, 'Sync calls hold the JS thread')

  const t = ticker()
  // Each result records how many turns the loop had made when it arrived.
  const seen = await Promise.all(bodies.map((b) => symbolicator.symbolicateV5(b).then(() => t.ticks)))
  t.stop()
  assert.ok(Math.max(...seen) > 0, `no event-loop turn while ${bodies.length} calls ran`)
})

test('worker_threads: each worker loads the addon and gets the same answers; terminate mid-call is safe', async () => {
  const symbolicator = new Symbolicator(join(examples, 'symbols'))
  const body = request(3)
  const want = (await symbolicator.symbolicateV5(body)).toString()
  const run = (terminateEarly) =>
    new Promise((resolve, reject) => {
      const w = new Worker(join(here, 'worker.cjs'), { workerData: { symbols: join(examples, 'symbols'), body, n: 20 } })
      w.once('message', (m) => {
        if (terminateEarly) w.terminate().then(() => resolve(m))
        else resolve(m)
      })
      w.once('error', reject)
    })
  const answers = await Promise.all([run(false), run(false), run(true), run(true)])
  for (const a of answers) assert.equal(a, want)
  // The main thread's addon is unaffected by the workers that went away.
  assert.equal((await symbolicator.symbolicateV5(body)).toString(), want)
})
