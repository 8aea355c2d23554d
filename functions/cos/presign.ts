// Pre-signed URLs (query-form signatures, cos-protocol.md §1.4). Pure: `now` is an argument.

import { cosLocation, type CosTarget } from "./endpoint";
import { authorization, cosEncode, keyTime, type SignPairs } from "./sign";

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
  const location = cosLocation(input.target, input.key);
  const kt = input.keyTime ?? keyTime(input.now, input.expires ?? 900);
  const headers = { ...lowerCaseKeys(input.headers), host: location.host };
  const query = input.query ?? {};
  const auth = await authorization({
    secretId: input.credentials.secretId,
    secretKey: input.credentials.secretKey,
    method: input.method,
    pathname: location.pathname,
    query,
    headers,
    keyTime: kt,
    signKey: input.signKey,
  });
  const params = auth.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    return `${pair.slice(0, eq)}=${encodeURIComponent(pair.slice(eq + 1))}`;
  });
  if (input.credentials.securityToken) params.push(`x-cos-security-token=${encodeURIComponent(input.credentials.securityToken)}`);
  for (const [name, value] of Object.entries(query)) params.push(value == null || value === "" ? cosEncode(name) : `${cosEncode(name)}=${cosEncode(String(value))}`);
  return { url: `${location.url}?${params.join("&")}`, expiresAt: Number(kt.split(";")[1]) * 1000 };
}
