// The client's CRC-64 (client/crc64.ts reads 32-bit words once aligned; updates of 512 bytes and
// more run in WebAssembly, client/crc64-wasm.ts): equal to a bit-by-bit
// reference for every start offset and length around the word and 8-byte boundaries, and when the
// same bytes arrive in uneven updates; crc64Combine (zero-bytes operators cached per length) gives
// the whole's CRC from equal and unequal parts, as the functions' implementation does.

import { describe, expect, it } from "vitest";
import { Crc64, crc64, crc64Combine, crc64Engine } from "../../client/crc64";
import { crc64Combine as functionsCombine } from "../../functions/cos/crc64";
import { bytes } from "../shared/bytes";
import { assemble, committedBase64 } from "../../scripts/crc64-wasm";

function reference(data: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  let crc = (1n << 64n) - 1n;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ ((1n << 64n) - 1n);
}

describe("Crc64", () => {
  const data = bytes(4096, 91);

  it("matches the bitwise reference at every alignment and length", () => {
    for (let start = 0; start < 12; start++) {
      for (const length of [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 4000]) {
        const view = data.subarray(start, start + length);
        expect(crc64(view), `start ${start} length ${length}`).toBe(reference(view));
      }
    }
    expect(crc64("123456789")).toBe(0x995dc9bbdf1939fan);
  });

  it("gives the same CRC however the bytes are split across updates", () => {
    const whole = crc64(data);
    for (const cuts of [[1, 2, 3], [5, 21, 1000, 1001], [7, 8, 9, 4095], [2048]]) {
      const c = new Crc64();
      let at = 0;
      for (const cut of [...cuts, data.length]) {
        c.update(data.subarray(at, cut));
        at = cut;
      }
      expect(c.digest()).toBe(whole);
    }
  });

  it("runs the WebAssembly loop (updates of 512 bytes and more) to the same CRC as the JS loop", () => {
    // 200 KiB crosses the 64 KiB blocks copied into WebAssembly memory; odd offsets and lengths
    // exercise its 16-byte steps and byte tail. Updates under 512 bytes take the JS loop.
    expect(crc64Engine).toBe("wasm");
    const big = bytes(200 * 1024 + 13, 7);
    for (const start of [0, 1, 5, 11]) {
      const view = big.subarray(start);
      const js = new Crc64();
      for (let at = 0; at < view.length; at += 511) js.update(view.subarray(at, at + 511));
      expect(new Crc64().update(view).digest(), `start ${start}`).toBe(js.digest());
    }
    expect(crc64(big.subarray(0, 4000))).toBe(reference(big.subarray(0, 4000)));
  });

  it("embeds the WebAssembly that scripts/crc64-wasm.ts assembles", () => {
    expect(committedBase64()).toBe(Buffer.from(assemble()).toString("base64"));
    expect(WebAssembly.validate(assemble())).toBe(true);
  });

  it("combines part CRCs into the whole's, equal-sized parts and a short last one alike", () => {
    for (const size of [1, 7, 64, 1000]) {
      let combined = 0n;
      for (let at = 0; at < data.length; at += size) {
        const part = data.subarray(at, at + size);
        combined = crc64Combine(combined, crc64(part), part.length);
        expect(combined).toBe(functionsCombine(crc64(data.subarray(0, at)), crc64(part), part.length));
      }
      expect(combined, `parts of ${size}`).toBe(crc64(data));
    }
    expect(crc64Combine(crc64("abc"), crc64(""), 0)).toBe(crc64("abc"));
    expect(crc64Combine(5n, 7n, 8 * 1024 * 1024)).toBe(functionsCombine(5n, 7n, 8 * 1024 * 1024));
  });
});
