// Server-side verification of the COS q-sign signature (cos-protocol.md §1.2, §1.4, §8). It reuses
// the signer's own steps from functions/cos/sign.ts (httpString → stringToSign → signKey →
// signature), so client and server cannot drift apart, and rebuilds HttpString only from what the
// client listed in q-header-list and q-url-param-list.

import type { IncomingHttpHeaders } from "node:http";
import {
  authFromFields,
  cosEncode,
  httpString,
  parseAuthorization,
  safeDecode,
  signKey,
  signature,
  stringToSign,
  timingSafeEqual,
  type ParsedAuthorization,
  type SignPairs,
} from "../functions/cos/sign";
import { CosLocalError, cosErrors } from "./errors";
import type { Query } from "./request";

export interface Credential {
  secretId: string;
  secretKey: string;
  /** When set, these are STS credentials: every request must carry this x-cos-security-token. */
  securityToken?: string;
}

export interface SignedRequest {
  method: string;
  /** The decoded pathname (§1.2 step 6). */
  pathname: string;
  query: Query;
  headers: IncomingHttpHeaders;
}

export interface AuthOptions {
  credentials: readonly Credential[];
  nowMs: number;
  /** How far in the future q-sign-time may start before RequestTimeTooSkewed. */
  maxSkewSeconds: number;
}

/** Finds the authorization: `Authorization` header, q-* query parameters, or a merged `sign=` (§1.4). */
export function findAuthorization(headers: IncomingHttpHeaders, query: Query): ParsedAuthorization | "malformed" | null {
  const header = headers.authorization;
  if (header) return parseAuthorization(header) ?? "malformed";
  if (query.has("q-sign-algorithm")) return authFromFields((name) => query.get(name)) ?? "malformed";
  const merged = query.get("sign");
  if (merged) return parseAuthorization(merged) ?? "malformed";
  return null;
}

/** Verifies a request's signature; returns the credential it was signed with, or throws COS's 403. */
export async function verifyRequest(request: SignedRequest, options: AuthOptions): Promise<Credential> {
  const auth = findAuthorization(request.headers, request.query);
  if (auth === null) throw cosErrors.accessDenied("Access Denied. The request carries no signature and the bucket is private.");
  if (auth === "malformed" || auth.algorithm.toLowerCase() !== "sha1") {
    throw cosErrors.accessDenied("The authorization is malformed: it needs q-sign-algorithm=sha1, q-ak, q-sign-time, q-key-time, q-header-list, q-url-param-list and q-signature.");
  }
  const credential = options.credentials.find((c) => c.secretId === auth.ak);
  if (!credential) throw new CosLocalError(403, "InvalidAccessKeyId", "The access key Id you provided does not exist in our records.");
  checkSignTime(auth, options);

  const format = httpString(request.method, request.pathname, signedParams(request.query, auth.urlParamList), signedHeaders(request.headers, auth.headerList));
  const toSign = await stringToSign(auth.signTime, format);
  const expected = await signature(await signKey(credential.secretKey, auth.keyTime), toSign);
  if (!timingSafeEqual(expected, auth.signature.toLowerCase())) {
    throw new CosLocalError(403, "SignatureDoesNotMatch", "The Signature you specified does not match what we calculated.", {
      StringToSign: toSign,
      FormatString: format,
    });
  }
  checkSecurityToken(credential, request.headers, request.query);
  return credential;
}

/**
 * The q-sign-time window (§1.4 "Time checks"). q-sign-time must equal q-key-time: JS/Node put
 * q-sign-time into StringToSign and Go puts KeyTime there, so only equal values are unambiguous (§1.2).
 */
function checkSignTime(auth: ParsedAuthorization, options: AuthOptions): void {
  const serverTime = new Date(options.nowMs);
  if (auth.signTime !== auth.keyTime) throw cosErrors.accessDenied("q-sign-time and q-key-time must be equal.");
  const match = /^(\d+);(\d+)$/.exec(auth.signTime);
  if (!match) throw cosErrors.accessDenied("q-sign-time must be \"<start>;<end>\" in Unix seconds.");
  const [start, end] = [Number(match[1]), Number(match[2])];
  const now = options.nowMs / 1000;
  if (end < now) throw cosErrors.expired(serverTime);
  if (start > now + options.maxSkewSeconds) {
    throw new CosLocalError(403, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", {
      ServerTime: serverTime.toISOString(),
    });
  }
}

/** Only the parameters named in q-url-param-list, matched by lowercase(E(name)) (§1.2 step 4). */
function signedParams(query: Query, list: string[]): SignPairs {
  const pairs: SignPairs = {};
  for (const listed of list) {
    const param = query.params.find((p) => cosEncode(p.name).toLowerCase() === listed);
    // A listed parameter that is absent is left out, so HttpString differs from the client's.
    if (param) pairs[param.name] = param.value;
  }
  return pairs;
}

/** Only the headers named in q-header-list; Node has lowercased the names already (§1.2 step 5). */
function signedHeaders(headers: IncomingHttpHeaders, list: string[]): SignPairs {
  const pairs: SignPairs = {};
  for (const name of list) {
    const value = headers[name];
    if (value !== undefined) pairs[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return pairs;
}

/**
 * STS: the token may be signed or not, in a header or the query (§1.4). An SDK appends it to a
 * presigned URL raw, so a `+` in it is compared both as sent and as decoded.
 */
function checkSecurityToken(credential: Credential, headers: IncomingHttpHeaders, query: Query): void {
  if (!credential.securityToken) return;
  const header = headers["x-cos-security-token"];
  const param = query.params.find((p) => p.name === "x-cos-security-token");
  const candidates = [typeof header === "string" ? header : undefined, param?.value, param ? safeDecode(param.raw) : undefined];
  if (!candidates.some((c) => c !== undefined && timingSafeEqual(c, credential.securityToken!))) {
    throw new CosLocalError(403, "InvalidAccessKeyId", "These are temporary credentials: send their x-cos-security-token (header or query), unchanged.");
  }
}
