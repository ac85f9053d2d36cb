// Hand-written interfaces, re-exported by index.d.ts (scripts/build.mjs): the JSON of
// Eliot's /symbolicate/v5 and /symbolicate/v4 APIs, which napi cannot generate from the
// Rust structs, and the shape of the errors the binding throws.

/** A module in a v5/v4 memory map: `[debug_file, debug_id]`. */
export type V5Module = [debugFile: string, debugId: string]

/** A frame: `[module_index, module_offset]`; index `-1` is "no module", offset `-1` unknown. */
export type V5FrameRef = [moduleIndex: number, moduleOffset: number]

/** One job of a v5 request (also the whole body of a v4 request). */
export interface V5Job {
  memoryMap: V5Module[]
  stacks: V5FrameRef[][]
}

/** A `/symbolicate/v5` request body: `{ jobs: [...] }` (at most 10 jobs), or one job. */
export type V5Request = { jobs: V5Job[] } | V5Job

/** A `/symbolicate/v4` request body. */
export type V4Request = V5Job & { version?: 4 }

/** An inlined call inside a symbolicated frame, innermost first. */
export interface V5InlineFrame {
  function: string
  file?: string
  line?: number
}

/** One symbolicated frame. */
export interface V5Frame {
  /** Position in its stack. */
  frame: number
  /** The PE name of a found Windows module (`xul.dll`), else the debug file, else `<unknown>`. */
  module: string
  /** Hex offset as sent (`"0x1a2b"`; `"-0x1"` for -1). */
  module_offset: string
  function?: string
  function_offset?: string
  file?: string
  line?: number
  inlines?: V5InlineFrame[]
}

/** One job's result. */
export interface V5JobResult {
  stacks: V5Frame[][]
  /** `"debug_file/DEBUG_ID"` -> found (`true`), not found (`false`), not looked up (`null`). */
  found_modules: Record<string, boolean | null>
}

/** A `/symbolicate/v5` response body (`JSON.parse` of what `symbolicateV5` resolves to). */
export interface V5Response {
  results: V5JobResult[]
  /** Eliot's timing block, with `{ debug: true }` only. */
  debug?: Record<string, unknown>
}

/** A `/symbolicate/v4` response body. */
export interface V4Response {
  symbolicatedStacks: string[][]
  knownModules: Array<boolean | null>
}

/** The `Error` every failure rejects (or throws) with. */
export interface TeckenError extends Error {
  /** `TECKEN_` + the core's error kind: `TECKEN_BAD_REQUEST`, `TECKEN_NOT_FOUND`, ... */
  code: string
  /** The HTTP status an HTTP layer should answer with (400, 404, 413, 500, 503). */
  status: number
  /** v5/v4 validation errors: the exact body Eliot answers, `{"title": "..."}`. */
  body?: Buffer
  cause?: Error
}
