// CRC-64 in WebAssembly (slicing-by-16 over 64-bit entries), for runtimes that have WebAssembly: about
// twice the speed of the JS loop in client/crc64.ts, which stays the fallback (React Native's Hermes,
// pages whose Content-Security-Policy forbids WebAssembly). The module is assembled, readable, by
// scripts/crc64-wasm.ts; the base64 below is its output (a test checks they agree).

/** Byte layout shared with scripts/crc64-wasm.ts. */
const STATE = 32768;
const INPUT = 65536;
const INPUT_SIZE = 65536;

const WASM = "AGFzbQEAAAABBgFgAn9/AAMCAQAFAwEAAgcLAgNjcmMAAAFtAgAK/gIB+wIDAX4BfwR/QYCAAikDACECIAAgAWohAwJAA0AgAyAAa0EQSQ0BIAAoAgAgAqdzIQQgACgCBCACQiCIp3MhBSAAKAIIIQYgACgCDCEHIARBA3RB+A9xKQOA8AEgBEEFdkH4D3EpA4DgAYUgBEENdkH4D3EpA4DQAYUgBEEVdkH4D3EpA4DAAYUgBUEDdEH4D3EpA4CwAYUgBUEFdkH4D3EpA4CgAYUgBUENdkH4D3EpA4CQAYUgBUEVdkH4D3EpA4CAAYUgBkEDdEH4D3EpA4BwhSAGQQV2QfgPcSkDgGCFIAZBDXZB+A9xKQOAUIUgBkEVdkH4D3EpA4BAhSAHQQN0QfgPcSkDgDCFIAdBBXZB+A9xKQOAIIUgB0ENdkH4D3EpA4AQhSAHQRV2QfgPcSkDAIUhAiAAQRBqIQAMAAsLAkADQCAAIANPDQEgAiAALQAArYVC/wGDp0EDdCkDACACQgiIhSECIABBAWohAAwACwtBgIACIAI3AwAL";

/**
 * An updater with the JS loop's signature (`state` = [hi, lo] of the inverted register), or
 * undefined when WebAssembly is unavailable or refused. `tables` are client/crc64.ts's.
 */
export function wasmUpdater(tables: Int32Array): ((state: Int32Array, chunk: Uint8Array) => void) | undefined {
  try {
    const bytes = Uint8Array.from(atob(WASM), (c) => c.charCodeAt(0));
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const crc = exports.crc as (p: number, n: number) => void;
    const memory = exports.m as WebAssembly.Memory;
    const words = new Int32Array(memory.buffer);
    const heap = new Uint8Array(memory.buffer);
    words.set(tables);
    return (state, chunk) => {
      // The register is one little-endian u64: lo word first.
      words[STATE >> 2] = state[1];
      words[(STATE >> 2) + 1] = state[0];
      for (let at = 0; at < chunk.length; at += INPUT_SIZE) {
        const block = chunk.subarray(at, at + INPUT_SIZE);
        heap.set(block, INPUT);
        crc(INPUT, block.length);
      }
      state[0] = words[(STATE >> 2) + 1];
      state[1] = words[STATE >> 2];
    };
  } catch {
    return undefined;
  }
}
