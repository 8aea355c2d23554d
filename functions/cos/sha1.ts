// SHA-1 and HMAC-SHA1 (FIPS 180-4, RFC 2104), synchronous and in plain JS. WebCrypto would do, but
// each of its calls is a round trip through a promise (and in Node a thread pool), which made
// signing 1,000 part URLs cost ~80 ms of CPU; COS needs two HMACs and one hash per URL, all on
// short inputs, so a small synchronous core is an order of magnitude cheaper (issue 3 "Benchmark").
// Checked against WebCrypto on random inputs in test/node/sha1.test.ts.

const encoder = new TextEncoder();
const W = new Int32Array(80);

/** Runs the compression function over the 64-byte blocks of `data` starting at `offset`. */
function compress(state: Int32Array, data: Uint8Array, offset: number, end: number): void {
  let h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3], h4 = state[4];
  for (let p = offset; p < end; p += 64) {
    for (let i = 0; i < 16; i++) {
      const j = p + i * 4;
      W[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
      W[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, t = 0;
    // Four loops of 20 rounds, one per round function, so the hot loop has no branch.
    for (let i = 0; i < 20; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 20; i < 40; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 40; i < 60; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 60; i < 80; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0xca62c1d6 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0; h4 = (h4 + e) | 0;
  }
  state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3; state[4] = h4;
}

const INITIAL = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0);

const TAIL = new Uint8Array(128);

/** Finishes a hash whose state has already absorbed `prefixBytes` bytes (a multiple of 64). */
function finish(state: Int32Array, message: Uint8Array, prefixBytes: number): Int32Array {
  const full = message.length - (message.length % 64);
  compress(state, message, 0, full);
  const rest = message.length - full;
  const tailLength = rest < 56 ? 64 : 128;
  TAIL.fill(0, 0, tailLength);
  TAIL.set(message.subarray(full));
  TAIL[rest] = 0x80;
  const bits = (prefixBytes + message.length) * 8;
  const high = Math.floor(bits / 2 ** 32);
  for (let i = 0; i < 4; i++) {
    TAIL[tailLength - 8 + i] = (high >>> (24 - 8 * i)) & 255;
    TAIL[tailLength - 4 + i] = (bits >>> (24 - 8 * i)) & 255;
  }
  compress(state, TAIL, 0, tailLength);
  return state;
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function stateHex(state: Int32Array): string {
  let out = "";
  for (const word of state) out += HEX[(word >>> 24) & 255] + HEX[(word >>> 16) & 255] + HEX[(word >>> 8) & 255] + HEX[word & 255];
  return out;
}

function stateBytes(state: Int32Array): Uint8Array {
  const out = new Uint8Array(20);
  const view = new DataView(out.buffer);
  state.forEach((word, i) => view.setInt32(i * 4, word));
  return out;
}

export function sha1HexSync(data: string | Uint8Array): string {
  return stateHex(finish(INITIAL.slice(), toBytes(data), 0));
}

/**
 * HMAC-SHA1 with the key's inner and outer pad states computed once, so signing many messages with
 * one key (a SignKey over a batch of part URLs) costs only the message blocks.
 */
export class HmacSha1 {
  private readonly inner = INITIAL.slice();
  private readonly outer = INITIAL.slice();

  constructor(key: string | Uint8Array) {
    let k = toBytes(key);
    if (k.length > 64) k = stateBytes(finish(INITIAL.slice(), k, 0));
    const ipad = new Uint8Array(64).fill(0x36);
    const opad = new Uint8Array(64).fill(0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i] ^= k[i];
      opad[i] ^= k[i];
    }
    compress(this.inner, ipad, 0, 64);
    compress(this.outer, opad, 0, 64);
  }

  hex(message: string | Uint8Array): string {
    const innerHash = stateBytes(finish(this.inner.slice(), toBytes(message), 64));
    return stateHex(finish(this.outer.slice(), innerHash, 64));
  }
}
