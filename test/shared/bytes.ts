// Deterministic test bodies for every runtime (Node, workerd, the Edge VM): no node:crypto.

/** `length` pseudo-random bytes from a linear congruential generator; the same seed, the same bytes. */
export function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
