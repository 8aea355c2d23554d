// Pre-signed URLs (query-form signatures, cos-protocol.md §1.4). Pure: `now` is an argument.

import { cosLocation, type CosLocation, type CosTarget } from "./endpoint";
import { authorizationFields, cosEncode, formatAuthorization, keyTime, postPolicySignature, type SignPairs } from "./sign";

export interface CosCredentials {
  secretId: string;
  secretKey: string;
  /** STS session token; sent as `x-cos-security-token`. */
  securityToken?: string;
}

export interface PresignInput {
  credentials: CosCredentials;
  target: CosTarget;
  method: string;
  key: string;
  /** Query parameters that are both signed and sent (partNumber, uploadId, response-*, ...). */
  query?: SignPairs;
  /** Headers the URL's user must send with exactly these values (content-length, content-md5...). `host` is added. */
  headers?: SignPairs;
  /** Unix milliseconds. */
  now: number;
  /** Lifetime in seconds (default 900). */
  expires?: number;
  /** A SignKey precomputed for this keyTime, when signing a batch. */
  signKey?: string;
  /** The KeyTime to use (batch signing shares one); defaults to keyTime(now, expires). */
  keyTime?: string;
}

/** Lowercases header names so the signed set and the set the caller must send agree. */
export function lowerCaseKeys(pairs: SignPairs = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(pairs)) if (value != null) out[name.toLowerCase()] = String(value);
  return out;
}

/**
 * A URL that performs `method` on `key` with no Authorization header. The q-* values are
 * URL-encoded (`;` as `%3B`), as Tencent's doc asks; the security token is encoded too, since a
 * raw `+` in it would be read as a space (§1.4).
 */
export async function presignUrl(input: PresignInput): Promise<{ url: string; expiresAt: number }> {
  const location = cachedLocation(input.target, input.key);
  const kt = input.keyTime ?? keyTime(input.now, input.expires ?? 900);
  const query = input.query ?? {};
  const fields = await authorizationFields({
    secretId: input.credentials.secretId,
    secretKey: input.credentials.secretKey,
    method: input.method,
    pathname: location.pathname,
    query,
    headers: { ...lowerCaseKeys(input.headers), host: location.host },
    keyTime: kt,
    signKey: input.signKey,
  });
  let url = `${location.url}?${formatAuthorization(fields, encodeQueryValue)}`;
  if (input.credentials.securityToken) url += `&x-cos-security-token=${encodeURIComponent(input.credentials.securityToken)}`;
  for (const [name, value] of Object.entries(query)) url += value == null || value === "" ? `&${cosEncode(name)}` : `&${cosEncode(name)}=${cosEncode(String(value))}`;
  return { url, expiresAt: Number(kt.slice(kt.indexOf(";") + 1)) * 1000 };
}

const QUERY_SAFE = /^[A-Za-z0-9\-_.~]*$/;
function encodeQueryValue(value: string): string {
  return QUERY_SAFE.test(value) ? value : encodeURIComponent(value);
}

// A batch signs many URLs for one key: its location is computed once.
let lastLocation: { target: CosTarget; key: string; location: CosLocation } | undefined;
function cachedLocation(target: CosTarget, key: string): CosLocation {
  if (lastLocation?.target !== target || lastLocation.key !== key) lastLocation = { target, key, location: cosLocation(target, key) };
  return lastLocation.location;
}

export interface PostPolicyInput {
  credentials: CosCredentials;
  bucket: string;
  /** Exact key the form must use (`{"key": ...}`), or... */
  key?: string;
  /** ...a prefix every key must start with (`["starts-with", "$key", prefix]`). */
  keyPrefix?: string;
  /** `["content-length-range", min, max]` in bytes. */
  contentLengthRange?: [number, number];
  /** Exact Content-Type form field the upload must send. */
  contentType?: string;
  /** Exact success_action_redirect field (where COS redirects the browser after the upload). */
  successActionRedirect?: string;
  /** Unix milliseconds. */
  now: number;
  /** Lifetime in seconds (default 900). */
  expires?: number;
  /** The KeyTime to sign with; defaults to keyTime(now, expires). The policy expires at its end. */
  keyTime?: string;
}

/**
 * A POST Object policy and the form fields that carry it (cos-protocol.md §4 "POST Object"). The
 * signature covers the exact JSON text returned in `policyJson`, which is base64'd into `policy`.
 */
export async function postPolicy(input: PostPolicyInput): Promise<{ policyJson: string; expiresAt: number; fields: Record<string, string> }> {
  const kt = input.keyTime ?? keyTime(input.now, input.expires ?? 900);
  const expiresAt = Number(kt.split(";")[1]) * 1000;
  const conditions: unknown[] = [
    { "q-sign-algorithm": "sha1" },
    { "q-ak": input.credentials.secretId },
    { "q-sign-time": kt },
    { bucket: input.bucket },
  ];
  if (input.key !== undefined) conditions.push({ key: input.key });
  if (input.keyPrefix !== undefined) conditions.push(["starts-with", "$key", input.keyPrefix]);
  if (input.contentLengthRange) conditions.push(["content-length-range", ...input.contentLengthRange]);
  if (input.contentType !== undefined) conditions.push({ "Content-Type": input.contentType });
  if (input.successActionRedirect !== undefined) conditions.push({ success_action_redirect: input.successActionRedirect });
  const policyJson = JSON.stringify({ expiration: new Date(expiresAt).toISOString(), conditions });
  const fields: Record<string, string> = {
    policy: base64Utf8(policyJson),
    "q-sign-algorithm": "sha1",
    "q-ak": input.credentials.secretId,
    "q-key-time": kt,
    "q-signature": await postPolicySignature(input.credentials.secretKey, kt, policyJson),
  };
  if (input.credentials.securityToken) fields["x-cos-security-token"] = input.credentials.securityToken;
  return { policyJson, expiresAt, fields };
}

function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
