// Assembles the CRC-64 WebAssembly module that client/crc64-wasm.ts embeds (as base64), from the
// program below written as WebAssembly text with its binary encoding next to it. Run
// `npx tsx scripts/crc64-wasm.ts` after changing it: it rewrites the bytes in client/crc64-wasm.ts;
// test/node/client-unit-crc64.test.ts checks that the committed bytes are what this file assembles.
//
// Why: slicing-by-16 over 64-bit table entries is one lookup per byte in WebAssembly, against two
// (32-bit halves) in plain JS, and the second 8 bytes of each step do not wait for the register.
//
// Memory (two 64 KiB pages, filled by the JS side):
//   [0, 32768)      the 16 slicing tables, 256 little-endian u64 entries each (client/crc64.ts `T`)
//   [32768, 32776)  the CRC register (inverted, as client/crc64.ts keeps it)
//   [65536, 131072) input bytes, copied in by JS one block at a time
//
// (func (export "crc") (param $p i32) (param $n i32)    ;; runs the register over n bytes at p
//   (local $c i64) (local $end i32) (local $w0 i32) ... (local $w3 i32)
//   c = load64(STATE); end = p + n
//   while (end - p >= 16) { w0 = load32(p) ^ lo(c); w1 = load32(p + 4) ^ hi(c); w2 = load32(p + 8); w3 = load32(p + 12)
//                           c = T15[w0 & ff] ^ T14[w0 >> 8 & ff] ^ ... ^ T0[w3 >> 24]; p += 16 }
//   while (p < end)      { c = T0[(c ^ load8(p)) & ff] ^ (c >> 8); p += 1 }
//   store64(STATE, c))

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const STATE = 32768;
export const INPUT = 65536;
export const INPUT_SIZE = 65536;

const op = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, i64Const: 0x42,
  i64Load: 0x29, i32Load8U: 0x2d, i64Store: 0x37,
  i32LtU: 0x49, i32GeU: 0x4f, i32Add: 0x6a, i32Sub: 0x6b, i32Shl: 0x74, i32WrapI64: 0xa7,
  i32Load: 0x28, i32And: 0x71, i32Xor: 0x73, i32ShrU: 0x76,
  i64And: 0x83, i64Xor: 0x85, i64ShrU: 0x88, i64ExtendI32U: 0xad,
} as const;
const I32 = 0x7f;
const I64 = 0x7e;

/** Unsigned LEB128 (sizes, indices, memory offsets). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/** Signed LEB128 (i32.const / i64.const immediates; small values only here). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
/** A memory access immediate: alignment (log2) and constant offset. */
const mem = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];

// Locals: 0 = $p, 1 = $n (params), 2 = $c (i64), 3 = $end (i32), 4-7 = $w0-$w3 (i32).
const [P, N, C, END] = [0, 1, 2, 3];
const W = [4, 5, 6, 7];

/** T_t[(w >> shift) & 0xff] as an i64 on the stack, w being an i32 local. */
function lookup(table: number, w: number, shift: number): number[] {
  // The entry's byte offset, (byte << 3), straight from the word: (w >> (shift - 3)) & 0x7f8.
  const offset = shift === 0 ? [op.i32Const, 3, op.i32Shl] : [op.i32Const, ...sleb(shift - 3), op.i32ShrU];
  return [op.localGet, w, ...offset, op.i32Const, ...sleb(0x7f8), op.i32And, op.i64Load, ...mem(3, table * 2048)];
}

function body(): number[] {
  const slice16 = [
    // w0, w1 = the register's words ^ the first 8 bytes; w2, w3 = the next 8 bytes
    op.localGet, P, op.i32Load, ...mem(2, 0), op.localGet, C, op.i32WrapI64, op.i32Xor, op.localSet, W[0],
    op.localGet, P, op.i32Load, ...mem(2, 4), op.localGet, C, op.i64Const, 32, op.i64ShrU, op.i32WrapI64, op.i32Xor, op.localSet, W[1],
    op.localGet, P, op.i32Load, ...mem(2, 8), op.localSet, W[2],
    op.localGet, P, op.i32Load, ...mem(2, 12), op.localSet, W[3],
    // c = T15[byte 0] ^ T14[byte 1] ^ ... ^ T0[byte 15]
    ...lookup(15, W[0], 0),
    ...Array.from({ length: 15 }, (_, i) => i + 1).flatMap((k) => [...lookup(15 - k, W[k >> 2], 8 * (k & 3)), op.i64Xor]),
    op.localSet, C,
    op.localGet, P, op.i32Const, 16, op.i32Add, op.localSet, P,
  ];
  const byteStep = [
    // c = T0[(c ^ load8(p)) & 0xff] ^ (c >> 8)
    op.localGet, C, op.localGet, P, op.i32Load8U, ...mem(0, 0),
    op.i64ExtendI32U,
    op.i64Xor, op.i64Const, ...sleb(0xff), op.i64And, op.i32WrapI64, op.i32Const, 3, op.i32Shl, op.i64Load, ...mem(3, 0),
    op.localGet, C, op.i64Const, 8, op.i64ShrU, op.i64Xor, op.localSet, C,
    op.localGet, P, op.i32Const, 1, op.i32Add, op.localSet, P,
  ];
  const code = [
    op.i32Const, ...sleb(STATE), op.i64Load, ...mem(3, 0), op.localSet, C,
    op.localGet, P, op.localGet, N, op.i32Add, op.localSet, END,
    // while (end - p >= 16)
    op.block, op.void, op.loop, op.void,
    op.localGet, END, op.localGet, P, op.i32Sub, op.i32Const, 16, op.i32LtU, op.brIf, 1,
    ...slice16,
    op.br, 0, op.end, op.end,
    // while (p < end)
    op.block, op.void, op.loop, op.void,
    op.localGet, P, op.localGet, END, op.i32GeU, op.brIf, 1,
    ...byteStep,
    op.br, 0, op.end, op.end,
    op.i32Const, ...sleb(STATE), op.localGet, C, op.i64Store, ...mem(3, 0),
    op.end,
  ];
  const locals = vec([[1, I64], [1, I32], [4, I32]]);
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

export function assemble(): Uint8Array<ArrayBuffer> {
  const name = [...new TextEncoder().encode("crc")];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [I32]]), ...vec([])]])), // type 0: (i32, i32) -> ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, 2]])), // memory 0: 2 pages, no maximum
    ...section(7, vec([[...uleb(name.length), ...name, 0x00, 0], [1, 0x6d, 0x02, 0]])), // export "crc" (func 0), "m" (memory 0)
    ...section(10, vec([body()])),
  ];
  return new Uint8Array(bytes);
}

const TARGET = fileURLToPath(new URL("../client/crc64-wasm.ts", import.meta.url));
const MARK = /const WASM = "[^"]*";/;

/** The base64 committed in client/crc64-wasm.ts. */
export function committedBase64(): string {
  return MARK.exec(readFileSync(TARGET, "utf8"))![0].slice('const WASM = "'.length, -2);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const base64 = Buffer.from(assemble()).toString("base64");
  writeFileSync(TARGET, readFileSync(TARGET, "utf8").replace(MARK, `const WASM = "${base64}";`));
  console.log(`client/crc64-wasm.ts: ${assemble().length} bytes of WebAssembly`);
}
