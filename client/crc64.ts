// CRC-64/XZ (ECMA-182 polynomial, reflected), the checksum COS returns as `x-cos-hash-crc64ecma`
// (cos-protocol.md §4 "CRC64"): init and final xor all ones, reflected polynomial 0xC96C5795D7870F42.
// Computed with slicing-by-8 over two 32-bit halves, because BigInt arithmetic per byte is far too
// slow for multi-gigabyte uploads; BigInt appears only at the edges. The 8 tables live in one
// Int32Array with each entry's lo and hi words side by side, and the input is read as 32-bit words
// (little-endian hosts) rather than byte by byte: ~1.4 GiB/s warm against ~0.67 for separate
// Uint32Array tables and byte reads.

import { wasmUpdater } from "./crc64-wasm";

const POLY_HI = 0xc96c5795 | 0;
const POLY_LO = 0xd7870f42 | 0;

/**
 * Entry n of table t: lo word at T[(t * 256 + n) * 2], hi word next to it (signed int32). The JS loop
 * uses tables 0-7; the WebAssembly one (slicing-by-16) all 16.
 */
const T = new Int32Array(16 * 256 * 2);

(function buildTables() {
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const carry = lo & 1;
      lo = (lo >>> 1) | (hi << 31);
      hi = hi >>> 1;
      if (carry) {
        hi ^= POLY_HI;
        lo ^= POLY_LO;
      }
    }
    T[n * 2] = lo;
    T[n * 2 + 1] = hi;
  }
  // table t[n] = (t-1)[n] >> 8 ^ table0[(t-1)[n] & 0xff]
  for (let t = 1; t < 16; t++) {
    for (let n = 0; n < 256; n++) {
      const p = ((t - 1) * 256 + n) * 2;
      const pl = T[p];
      const ph = T[p + 1];
      const idx = (pl & 0xff) * 2;
      T[(t * 256 + n) * 2] = ((pl >>> 8) | (ph << 24)) ^ T[idx];
      T[(t * 256 + n) * 2 + 1] = (ph >>> 8) ^ T[idx + 1];
    }
  }
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The WebAssembly loop (client/crc64-wasm.ts) where there is one; it reads the tables as LE words. */
const wasm = LITTLE_ENDIAN && typeof WebAssembly === "object" ? wasmUpdater(T) : undefined;
/** Which loop runs updates of WASM_MIN bytes and more (tests and benchmarks report it). */
export const crc64Engine: "wasm" | "js" = wasm ? "wasm" : "js";
/** Below this, copying into WebAssembly memory costs more than it saves. */
const WASM_MIN = 512;

/** Runs the register `state` ([hi, lo]) over `chunk`. */
function update(state: Int32Array, chunk: Uint8Array): void {
  let hi = state[0];
  let lo = state[1];
  let i = 0;
  const n = chunk.length;
  if (LITTLE_ENDIAN && n >= 16) {
    // Bytes up to a 4-byte boundary one at a time, then 8 bytes per step as two int32 words.
    const head = (4 - (chunk.byteOffset & 3)) & 3;
    for (; i < head; i++) {
      const idx = ((lo ^ chunk[i]) & 0xff) * 2;
      lo = ((lo >>> 8) | (hi << 24)) ^ T[idx];
      hi = (hi >>> 8) ^ T[idx + 1];
    }
    const words = new Int32Array(chunk.buffer, chunk.byteOffset + i, (n - i) >>> 3 << 1);
    const m = words.length;
    for (let w = 0; w < m; w += 2) {
      const a = lo ^ words[w];
      const b = hi ^ words[w + 1];
      lo = T[(7 * 256 + (a & 0xff)) * 2] ^ T[(6 * 256 + ((a >>> 8) & 0xff)) * 2] ^ T[(5 * 256 + ((a >>> 16) & 0xff)) * 2] ^ T[(4 * 256 + (a >>> 24)) * 2] ^
        T[(3 * 256 + (b & 0xff)) * 2] ^ T[(2 * 256 + ((b >>> 8) & 0xff)) * 2] ^ T[(256 + ((b >>> 16) & 0xff)) * 2] ^ T[(b >>> 24) * 2];
      hi = T[(7 * 256 + (a & 0xff)) * 2 + 1] ^ T[(6 * 256 + ((a >>> 8) & 0xff)) * 2 + 1] ^ T[(5 * 256 + ((a >>> 16) & 0xff)) * 2 + 1] ^ T[(4 * 256 + (a >>> 24)) * 2 + 1] ^
        T[(3 * 256 + (b & 0xff)) * 2 + 1] ^ T[(2 * 256 + ((b >>> 8) & 0xff)) * 2 + 1] ^ T[(256 + ((b >>> 16) & 0xff)) * 2 + 1] ^ T[(b >>> 24) * 2 + 1];
    }
    i += m * 4;
  }
  for (; i < n; i++) {
    const idx = ((lo ^ chunk[i]) & 0xff) * 2;
    lo = ((lo >>> 8) | (hi << 24)) ^ T[idx];
    hi = (hi >>> 8) ^ T[idx + 1];
  }
  state[0] = hi;
  state[1] = lo;
}

/** Incremental CRC64: `new Crc64().update(a).update(b).toString()` equals the CRC of a+b. */
export class Crc64 {
  // The running (non-final) register, inverted: starts at all ones (signed int32 halves: hi, lo).
  private readonly state = new Int32Array([-1, -1]);

  update(chunk: Uint8Array): this {
    (wasm && chunk.length >= WASM_MIN ? wasm : update)(this.state, chunk);
    return this;
  }

  /** The CRC of everything passed to update so far, as an unsigned 64-bit BigInt. */
  digest(): bigint {
    return (BigInt(~this.state[0] >>> 0) << 32n) | BigInt(~this.state[1] >>> 0);
  }

  /** The CRC as COS writes it: an unsigned decimal string. */
  toString(): string {
    return this.digest().toString();
  }
}

export function crc64(data: Uint8Array | string): bigint {
  return new Crc64().update(typeof data === "string" ? new TextEncoder().encode(data) : data).digest();
}

// --- combine: zlib's crc32_combine generalised to 64 bits (GF(2) matrix powers) ---

const MASK64 = (1n << 64n) - 1n;
const POLY = 0xc96c5795d7870f42n;

function gf2MatrixTimes(mat: bigint[], vec: bigint): bigint {
  let sum = 0n;
  let i = 0;
  while (vec !== 0n) {
    if (vec & 1n) sum ^= mat[i];
    vec >>= 1n;
    i++;
  }
  return sum;
}

function gf2MatrixSquare(mat: bigint[]): bigint[] {
  return mat.map((row) => gf2MatrixTimes(mat, row));
}

/** A · B (B applied first) for GF(2) operators held as the images of each bit. */
function gf2MatrixCompose(a: bigint[], b: bigint[]): bigint[] {
  return b.map((column) => gf2MatrixTimes(a, column));
}

/** Operators that append `len` zero bytes, by length: parts mostly share one size. */
const zeroOperators = new Map<bigint, bigint[]>();

/** The operator appending `len` zero bytes to a CRC register (zlib's squaring, accumulated once). */
function zerosOperator(len: bigint): bigint[] {
  const cached = zeroOperators.get(len);
  if (cached) return cached;
  const key = len;
  // odd: the operator for one zero bit; even: two zero bits.
  let odd: bigint[] = [POLY];
  for (let i = 1, row = 1n; i < 64; i++, row <<= 1n) odd.push(row);
  let even = gf2MatrixSquare(odd); // 2 zero bits
  odd = gf2MatrixSquare(even); // 4 zero bits
  let op: bigint[] | undefined;
  // len*8 zero bits, squaring the operator as we go (the first square gives 1 byte).
  do {
    even = gf2MatrixSquare(odd);
    if (len & 1n) op = op ? gf2MatrixCompose(even, op) : even;
    len >>= 1n;
    if (len === 0n) break;
    odd = gf2MatrixSquare(even);
    if (len & 1n) op = op ? gf2MatrixCompose(odd, op) : odd;
    len >>= 1n;
  } while (len !== 0n);
  if (zeroOperators.size >= 16) zeroOperators.clear();
  zeroOperators.set(key, op!);
  return op!;
}

/**
 * The CRC of A+B given crc(A), crc(B) and B's length in bytes, so COS part CRCs combine into the
 * whole object's CRC (cos-protocol.md §4: "the part CRCs combined in order"). The zero-bytes
 * operator is kept per length, so combining many equal parts costs one matrix product each.
 */
export function crc64Combine(crc1: bigint, crc2: bigint, len2: number | bigint): bigint {
  const len = BigInt(len2);
  if (len === 0n) return crc1;
  return (gf2MatrixTimes(zerosOperator(len), crc1 & MASK64) ^ crc2) & MASK64;
}
