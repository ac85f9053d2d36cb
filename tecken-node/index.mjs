// ESM entry point: the same native module as index.js (CommonJS), with named exports.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const binding = require('./index.js')

export const {
  SymbolStore,
  Symbolicator,
  Index,
  UploadSessions,
  parseSymHeader,
  parseSymHeaderSync,
  buildIndex,
  buildIndexSync,
  binaryId,
  binaryIdSync,
  authTokenMatches,
  teckenDebugRequested,
  stackwalk,
  stackwalkSync,
  version,
} = binding
export default binding
