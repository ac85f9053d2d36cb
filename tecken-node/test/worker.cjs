// A worker thread for concurrency.test.mjs: loads the addon, answers with the first
// result, then keeps `n` calls in flight (a terminate() lands in the middle of them).
const { parentPort, workerData } = require('node:worker_threads')
const { Symbolicator } = require('..')

const s = new Symbolicator(workerData.symbols)
s.symbolicateV5(workerData.body).then((b) => {
  parentPort.postMessage(b.toString())
  for (let i = 0; i < workerData.n; i++) s.symbolicateV5(workerData.body)
})
