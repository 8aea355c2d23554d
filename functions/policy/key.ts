// Object key rules (DESIGN.md policy/key.ts, cos-protocol.md §6 "Object keys"): what a caller may
// name an object. Checked after the key is decoded from JSON. COS itself reads `%2e%2e` and `．．`
// as literal text, but a proxy, CDN or sync tool in front of the bucket may decode or NFKC-fold
// them (issue 6 "widen a grant ... encoding tricks"), so those spellings are refused as well.

import { invalidInput } from "../errors";

const MAX_KEY_BYTES = 850;
const utf8 = new TextDecoder();
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Percent-escapes decoded as UTF-8 (a bad sequence becomes U+FFFD); text without escapes is unchanged. */
function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => utf8.decode(Uint8Array.from(run.slice(1).split("%"), (hex) => parseInt(hex, 16))));
}

/** The key as a lenient layer might read it: percent-decoded until stable (double encoding too), then NFKC. */
export function lenientForm(key: string): string {
  let text = key;
  for (let i = 0; i < 4; i++) {
    const next = percentDecode(text);
    if (next === text) break;
    text = next;
  }
  return text.normalize("NFKC");
}

/** What is wrong with the path structure of `key`, or undefined: the rules both spellings must pass. */
function structureProblem(key: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(key)) return "must not contain control characters";
  if (key.startsWith("/") || key.startsWith("\\")) return "must not start with / or \\";
  if (key.includes("\\")) return "must not contain \\ (COS would treat it as a literal character, browsers as a separator)";
  const segments = key.split("/");
  if (segments.slice(0, -1).some((s) => s === "")) return "must not contain empty path segments (//)";
  if (segments.some((s) => s === "." || s === "..")) return "must not contain . or .. path segments";
  return undefined;
}

/** Throws a 400 naming `field` when `key` breaks a rule; returns the key unchanged otherwise. */
export function checkKey(key: string, field = "key"): string {
  if (key.length === 0) throw invalidInput(field, "must not be empty");
  // JSON may carry "\ud800": such a key has no UTF-8 form, so no URL could name it.
  if (LONE_SURROGATE.test(key)) throw invalidInput(field, "must be valid Unicode (it has a lone UTF-16 surrogate)");
  const bytes = new TextEncoder().encode(key).length;
  if (bytes > MAX_KEY_BYTES) throw invalidInput(field, `is ${bytes} bytes of UTF-8; COS allows at most ${MAX_KEY_BYTES}`);
  const problem = structureProblem(key);
  if (problem) throw invalidInput(field, problem);
  if (key !== key.normalize("NFC")) throw invalidInput(field, "must be in Unicode NFC form");
  const decoded = structureProblem(lenientForm(key));
  if (decoded) throw invalidInput(field, `${decoded}, also when percent-decoded and NFKC-normalised (%2e%2e, %2f, %5c, %00, Unicode dot forms)`);
  return key;
}

/** A file name made safe to append to a prefix: one segment that stays one in every spelling, ≤ 200 bytes. */
export function safeFilename(name: string): string {
  const clean = (text: string) => text.replace(/[\u0000-\u001f\u007f/\\]/g, "_").replace(new RegExp(LONE_SURROGATE, "g"), "_").trim().replace(/^\.+$/, "_");
  let out = clean(name.normalize("NFC")) || "file";
  // `%2e%2e`, `%5c` or `．．` would decode or fold into a dot segment or a separator: use the folded text, escapes defused.
  if (structureProblem(lenientForm(out))) out = clean(out.replace(/%/g, "_").normalize("NFKC")) || "file";
  // Whole code points: cutting a surrogate pair in half would leave a key no URL can name.
  while (new TextEncoder().encode(out).length > 200) out = Array.from(out).slice(0, -1).join("");
  return out;
}
