// The synchronous SHA-1 / HMAC-SHA1 core against Node's crypto on random inputs of every length
// around the block boundaries (55, 56, 63, 64, 119, 120 bytes...) and keys longer than a block.
import { createHash, createHmac } from "node:crypto";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HmacSha1, sha1HexSync } from "../../functions/cos/sha1";

describe("sha1.ts", () => {
  it("hashes like node:crypto for every length from 0 to 300 bytes", () => {
    for (let n = 0; n <= 300; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + n) & 255);
      expect(sha1HexSync(data)).toBe(createHash("sha1").update(data).digest("hex"));
    }
    expect(sha1HexSync("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  it("computes HMAC-SHA1 like node:crypto for random keys and messages, reusing one key's state", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 100 }), fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { minLength: 1, maxLength: 4 }), (key, messages) => {
        const hmac = new HmacSha1(key);
        for (const m of messages) expect(hmac.hex(m)).toBe(createHmac("sha1", key).update(m).digest("hex"));
      }),
      { numRuns: 300 },
    );
  });
});
