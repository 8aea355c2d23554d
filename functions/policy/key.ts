// Object key rules (DESIGN.md policy/key.ts, cos-protocol.md §6 "Object keys"): what a caller may
// name an object. Checked after the key is decoded from JSON, so `%2e%2e` stays literal text.

import { invalidInput } from "../errors";

const MAX_KEY_BYTES = 850;
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Throws a 400 naming `field` when `key` breaks a rule; returns the key unchanged otherwise. */
export function checkKey(key: string, field = "key"): string {
  if (key.length === 0) throw invalidInput(field, "must not be empty");
  // JSON may carry "\ud800": such a key has no UTF-8 form, so no URL could name it.
  if (LONE_SURROGATE.test(key)) throw invalidInput(field, "must be valid Unicode (it has a lone UTF-16 surrogate)");
  const bytes = new TextEncoder().encode(key).length;
  if (bytes > MAX_KEY_BYTES) throw invalidInput(field, `is ${bytes} bytes of UTF-8; COS allows at most ${MAX_KEY_BYTES}`);
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalidInput(field, "must not contain control characters");
  if (key.startsWith("/") || key.startsWith("\\")) throw invalidInput(field, "must not start with / or \\");
  if (key.includes("\\")) throw invalidInput(field, "must not contain \\ (COS would treat it as a literal character, browsers as a separator)");
  if (key !== key.normalize("NFC")) throw invalidInput(field, "must be in Unicode NFC form");
  const segments = key.split("/");
  if (segments.slice(0, -1).some((s) => s === "")) throw invalidInput(field, "must not contain empty path segments (//)");
  if (segments.some((s) => s === "." || s === "..")) throw invalidInput(field, "must not contain . or .. path segments");
  return key;
}

/** A file name made safe to append to a prefix: no separators, no control characters, ≤ 200 bytes. */
export function safeFilename(name: string): string {
  const cleaned = name.normalize("NFC").replace(/[\u0000-\u001f\u007f/\\]/g, "_").replace(new RegExp(LONE_SURROGATE, "g"), "_").replace(/^\.+$/, "_").trim();
  let out = cleaned || "file";
  // Whole code points: cutting a surrogate pair in half would leave a key no URL can name.
  while (new TextEncoder().encode(out).length > 200) out = Array.from(out).slice(0, -1).join("");
  return out;
}
