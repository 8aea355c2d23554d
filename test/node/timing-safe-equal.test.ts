// Tokens and signatures are compared in constant time (issue 6): functions/policy/token.ts checks
// upload-token MACs with timingSafeEqual, and cos-local checks COS signatures with it. The proof
// that it never exits early: every index of the inputs is read, wherever the first difference is.
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { timingSafeEqual, timingSafeEqualBytes } from "../../functions/cos/sign";

/** A byte array that records which indices were read. */
function watched(bytes: number[]): { array: ArrayLike<number>; read: Set<number> } {
  const read = new Set<number>();
  const array = new Proxy(bytes, {
    get(target, property, receiver) {
      if (typeof property === "string" && /^\d+$/.test(property)) read.add(Number(property));
      return Reflect.get(target, property, receiver);
    },
  });
  return { array, read };
}

describe("timingSafeEqual", () => {
  it("is string equality: equal, one character changed anywhere, other lengths, Unicode", () => {
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "ab")).toBe(false);
    expect(timingSafeEqual("ab", "abc")).toBe(false);
    // A shorter string padded with what `?? 0` reads past its end is still different.
    expect(timingSafeEqual("ab", "ab\u0000")).toBe(false);
    expect(timingSafeEqual("é", "e\u0301")).toBe(false);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 64 }), fc.string({ unit: "grapheme", maxLength: 64 }), (a, b) => {
        expect(timingSafeEqual(a, b)).toBe(a === b);
        expect(timingSafeEqual(a, a)).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (a, at, c) => {
        const i = at % a.length;
        const b = a.slice(0, i) + c + a.slice(i + 1);
        expect(timingSafeEqual(a, b)).toBe(a === b);
      }),
      { numRuns: 500 },
    );
  });

  it("reads every byte of both inputs whether they differ at the first byte, the last, or not at all", () => {
    const mac = Array.from({ length: 43 }, (_, i) => (i * 37) % 256);
    const cases = [
      [...mac],
      [mac[0] ^ 1, ...mac.slice(1)],
      [...mac.slice(0, -1), mac[42] ^ 1],
      mac.slice(0, 10),
      [...mac, 1, 2, 3],
    ];
    for (const other of cases) {
      const x = watched(mac);
      const y = watched(other);
      timingSafeEqualBytes(x.array, y.array);
      const longest = Math.max(mac.length, other.length);
      const all = Array.from({ length: longest }, (_, i) => i);
      expect([...x.read].sort((a, b) => a - b)).toEqual(all);
      expect([...y.read].sort((a, b) => a - b)).toEqual(all);
    }
  });
});
