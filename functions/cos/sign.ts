// The COS request signature ("q-sign", cos-protocol.md §1), one exported function per step of
// Tencent's signature document (436/7778), so tests can check every intermediate string.
// Pure: no I/O and no platform crypto (SHA-1 in sha1.ts runs in workerd, browsers, React Native
// and Node alike), and time is always passed in.

import { HmacSha1, sha1HexSync } from "./sha1";

const encoder = new TextEncoder();

/** Values a signer accepts for a query parameter or header; `undefined`/`null` sign as "". */
export type SignValue = string | number | undefined | null;
export type SignPairs = Record<string, SignValue>;

/**
 * COS's encoding function E (§1.2 step 3): UTF-8 percent-encoding that leaves only
 * `A-Z a-z 0-9 - _ . ~` literal, with uppercase hex. `encodeURIComponent` leaves `! ' ( ) *`
 * literal, so those are encoded on top.
 */
const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;

export function cosEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * KeyTime `"start;end"` in Unix seconds. Like the Node and JS SDKs, the window starts one second
 * before `nowMs` (rounded), so a server whose clock is a little behind still accepts it.
 */
export function keyTime(nowMs: number, expiresSeconds = 900): string {
  const start = Math.round(nowMs / 1000) - 1;
  return `${start};${start + expiresSeconds}`;
}

/**
 * HttpParameters / HttpHeaders and their name lists (§1.2 steps 4-5): names become
 * lowercase(E(name)), values E(value); sorted by the encoded name.
 */
export function formatPairs(pairs: SignPairs): { list: string; string: string } {
  const encoded = Object.entries(pairs)
    .map(([name, value]) => [cosEncode(name).toLowerCase(), cosEncode(value == null ? "" : String(value))] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    list: encoded.map(([name]) => name).join(";"),
    string: encoded.map(([name, value]) => `${name}=${value}`).join("&"),
  };
}

/**
 * HttpString (FormatString in COS error bodies): method, the DECODED path with a leading `/`,
 * the signed parameters and the signed headers, each followed by a newline.
 */
export function httpString(method: string, pathname: string, query: SignPairs = {}, headers: SignPairs = {}): string {
  return joinHttpString(method, pathname, formatPairs(query).string, formatPairs(headers).string);
}

function joinHttpString(method: string, pathname: string, parameters: string, headers: string): string {
  const path = pathname.startsWith("/") ? pathname : `/${pathname}`;
  return `${method.toLowerCase()}\n${path}\n${parameters}\n${headers}\n`;
}

/** SignKey = hex(HMAC-SHA1(SecretKey, KeyTime)). Reusable for every request signed with one KeyTime. */
export function signKey(secretKey: string, keyTime: string): Promise<string> {
  return hmacSha1Hex(secretKey, keyTime);
}

/** StringToSign = "sha1\n" + q-sign-time + "\n" + hex(SHA1(HttpString)) + "\n". */
export async function stringToSign(signTime: string, httpStr: string): Promise<string> {
  return `sha1\n${signTime}\n${await sha1Hex(httpStr)}\n`;
}

/** Signature = hex(HMAC-SHA1(SignKey as its 40-character hex text, StringToSign)). */
export function signature(key: string, toSign: string): Promise<string> {
  return hmacSha1Hex(key, toSign);
}

export interface SignInput {
  secretId: string;
  secretKey: string;
  method: string;
  /** Decoded path as COS signs it: `/<key>` virtual-host style, `/<bucket>/<key>` path style. */
  pathname: string;
  /** Query parameters to sign; a flag like `?uploads` is `{ uploads: "" }`. */
  query?: SignPairs;
  /** Headers to sign (include `host`); only these appear in q-header-list. */
  headers?: SignPairs;
  /** `"start;end"` from {@link keyTime}. */
  keyTime: string;
  /** A SignKey already computed for this secretKey and keyTime (batch signing reuses it). */
  signKey?: string;
}

/** The parts of an authorization, before they are written as a string or into a URL. */
export interface AuthorizationFields {
  ak: string;
  keyTime: string;
  headerList: string;
  urlParamList: string;
  signature: string;
}

/** Signs a request: every step above, once each. */
export async function authorizationFields(input: SignInput): Promise<AuthorizationFields> {
  const query = formatPairs(input.query ?? {});
  const headers = formatPairs(input.headers ?? {});
  const key = input.signKey ?? (await signKey(input.secretKey, input.keyTime));
  const toSign = await stringToSign(input.keyTime, joinHttpString(input.method, input.pathname, query.string, headers.string));
  return { ak: input.secretId, keyTime: input.keyTime, headerList: headers.list, urlParamList: query.list, signature: await signature(key, toSign) };
}

/** The `q-sign-algorithm=sha1&q-ak=...&q-signature=...` string, for `Authorization` or a URL. */
export async function authorization(input: SignInput): Promise<string> {
  return formatAuthorization(await authorizationFields(input), (value) => value);
}

/** Writes the q-* pairs in COS's order; `encode` is applied to each value (identity for a header). */
export function formatAuthorization(f: AuthorizationFields, encode: (value: string) => string): string {
  return (
    `q-sign-algorithm=sha1&q-ak=${encode(f.ak)}&q-sign-time=${encode(f.keyTime)}&q-key-time=${encode(f.keyTime)}` +
    `&q-header-list=${encode(f.headerList)}&q-url-param-list=${encode(f.urlParamList)}&q-signature=${f.signature}`
  );
}

export interface ParsedAuthorization {
  algorithm: string;
  ak: string;
  signTime: string;
  keyTime: string;
  headerList: string[];
  urlParamList: string[];
  signature: string;
}

/** The `q-*` parameter names of an authorization string, in the order COS writes them. */
export const AUTH_PARAMS = [
  "q-sign-algorithm",
  "q-ak",
  "q-sign-time",
  "q-key-time",
  "q-header-list",
  "q-url-param-list",
  "q-signature",
] as const;

/**
 * Parses an authorization string as any SDK writes it: `;` literal or as `%3B`/`%3b`, values
 * URL-encoded or not (§1.4). Returns null when a q-* field is missing.
 */
export function parseAuthorization(auth: string): ParsedAuthorization | null {
  const fields = new Map<string, string>();
  for (const part of auth.trim().split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim().toLowerCase(), safeDecode(part.slice(eq + 1)));
  }
  return authFromFields((name) => fields.get(name));
}

/** Builds a ParsedAuthorization from already-decoded q-* fields (e.g. a URL's query). */
export function authFromFields(get: (name: string) => string | null | undefined): ParsedAuthorization | null {
  const values = AUTH_PARAMS.map((name) => get(name));
  if (values.some((v) => v == null)) return null;
  const [algorithm, ak, signTime, keyTimeValue, headerList, urlParamList, sig] = values as string[];
  const list = (s: string) => (s === "" ? [] : s.split(";"));
  return {
    algorithm,
    ak,
    signTime,
    keyTime: keyTimeValue,
    headerList: list(headerList),
    urlParamList: list(urlParamList),
    signature: sig,
  };
}

/** decodeURIComponent, or the text as it is when it is not valid percent-encoding. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * POST Object policy signature (§4 POST Object): hex(HMAC-SHA1(SignKey, hex(SHA1(policy JSON)))).
 * `policyJson` is the exact text that is base64-encoded into the form, not a re-serialised object.
 */
export async function postPolicySignature(secretKey: string, keyTimeValue: string, policyJson: string): Promise<string> {
  return hmacSha1Hex(await signKey(secretKey, keyTimeValue), await sha1Hex(policyJson));
}

export async function sha1Hex(data: string | Uint8Array): Promise<string> {
  return sha1HexSync(data);
}

// The last key's pad states are kept: a batch of URLs signs with one SignKey (issue 3).
let lastHmac: { key: string; hmac: HmacSha1 } | undefined;

export async function hmacSha1Hex(key: string, message: string): Promise<string> {
  if (lastHmac?.key !== key) lastHmac = { key, hmac: new HmacSha1(key) };
  return lastHmac.hmac.hex(message);
}

/** Compares two strings in time that depends only on their length (signatures, tokens). */
export function timingSafeEqual(a: string, b: string): boolean {
  return timingSafeEqualBytes(encoder.encode(a), encoder.encode(b));
}

/**
 * The byte comparison behind timingSafeEqual: no early exit, every index of the longer input is
 * read whatever differs, so the time tells an attacker nothing about how much of a MAC was right.
 */
export function timingSafeEqualBytes(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  let diff = x.length ^ y.length;
  const length = Math.max(x.length, y.length);
  for (let i = 0; i < length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
