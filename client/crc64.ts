// CRC-64/XZ (ECMA-182 polynomial, reflected), the checksum COS returns as `x-cos-hash-crc64ecma`
// (cos-protocol.md §4 "CRC64"): init and final xor all ones, reflected polynomial 0xC96C5795D7870F42.
// Computed with slicing-by-8 over two 32-bit halves, because BigInt arithmetic per byte is far too
// slow for multi-gigabyte uploads; BigInt appears only at the edges.

const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

/** 8 tables of 256 entries, each entry split into hi and lo 32-bit words. */
const TABLE_HI: Uint32Array[] = [];
const TABLE_LO: Uint32Array[] = [];

(function buildTables() {
  const hi0 = new Uint32Array(256);
  const lo0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        hi = (hi ^ POLY_HI) >>> 0;
        lo = (lo ^ POLY_LO) >>> 0;
      }
    }
    hi0[n] = hi;
    lo0[n] = lo;
  }
  TABLE_HI.push(hi0);
  TABLE_LO.push(lo0);
  for (let t = 1; t < 8; t++) {
    const prevHi = TABLE_HI[t - 1];
    const prevLo = TABLE_LO[t - 1];
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      // next[n] = (prev[n] >> 8) ^ table0[prev[n] & 0xff]
      const ph = prevHi[n];
      const pl = prevLo[n];
      const idx = pl & 0xff;
      lo[n] = (((pl >>> 8) | (ph << 24)) ^ lo0[idx]) >>> 0;
      hi[n] = ((ph >>> 8) ^ hi0[idx]) >>> 0;
    }
    TABLE_HI.push(hi);
    TABLE_LO.push(lo);
  }
})();

/** Incremental CRC64: `new Crc64().update(a).update(b).toString()` equals the CRC of a+b. */
export class Crc64 {
  // The running (non-final) register, inverted: starts at all ones.
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(chunk: Uint8Array): this {
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    const n = chunk.length;
    const [h0, h1, h2, h3, h4, h5, h6, h7] = TABLE_HI;
    const [l0, l1, l2, l3, l4, l5, l6, l7] = TABLE_LO;
    for (; i + 8 <= n; i += 8) {
      const a = (lo ^ (chunk[i] | (chunk[i + 1] << 8) | (chunk[i + 2] << 16) | (chunk[i + 3] << 24))) >>> 0;
      const b = (hi ^ (chunk[i + 4] | (chunk[i + 5] << 8) | (chunk[i + 6] << 16) | (chunk[i + 7] << 24))) >>> 0;
      const b0 = a & 0xff, b1 = (a >>> 8) & 0xff, b2 = (a >>> 16) & 0xff, b3 = a >>> 24;
      const b4 = b & 0xff, b5 = (b >>> 8) & 0xff, b6 = (b >>> 16) & 0xff, b7 = b >>> 24;
      lo = (l7[b0] ^ l6[b1] ^ l5[b2] ^ l4[b3] ^ l3[b4] ^ l2[b5] ^ l1[b6] ^ l0[b7]) >>> 0;
      hi = (h7[b0] ^ h6[b1] ^ h5[b2] ^ h4[b3] ^ h3[b4] ^ h2[b5] ^ h1[b6] ^ h0[b7]) >>> 0;
    }
    for (; i < n; i++) {
      const idx = (lo ^ chunk[i]) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ l0[idx]) >>> 0;
      hi = ((hi >>> 8) ^ h0[idx]) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  /** The CRC of everything passed to update so far, as an unsigned 64-bit BigInt. */
  digest(): bigint {
    return (BigInt((~this.hi) >>> 0) << 32n) | BigInt((~this.lo) >>> 0);
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

/**
 * The CRC of A+B given crc(A), crc(B) and B's length in bytes, so COS part CRCs combine into the
 * whole object's CRC (cos-protocol.md §4: "the part CRCs combined in order").
 */
export function crc64Combine(crc1: bigint, crc2: bigint, len2: number | bigint): bigint {
  let len = BigInt(len2);
  if (len === 0n) return crc1;
  // odd: the operator for one zero bit; even: two zero bits.
  let odd: bigint[] = [POLY];
  for (let i = 1, row = 1n; i < 64; i++, row <<= 1n) odd.push(row);
  let even = gf2MatrixSquare(odd); // 2 zero bits
  odd = gf2MatrixSquare(even); // 4 zero bits
  let c1 = crc1 & MASK64;
  // Apply len*8 zero bits to crc1, squaring the operator as we go (first square gives 1 byte).
  do {
    even = gf2MatrixSquare(odd);
    if (len & 1n) c1 = gf2MatrixTimes(even, c1);
    len >>= 1n;
    if (len === 0n) break;
    odd = gf2MatrixSquare(even);
    if (len & 1n) c1 = gf2MatrixTimes(odd, c1);
    len >>= 1n;
  } while (len !== 0n);
  return (c1 ^ crc2) & MASK64;
}
