// Upload tokens (DESIGN.md "Stateless coordination"): what the functions must remember about a
// multipart upload between calls, signed with HMAC-SHA256 so nobody can change it. Format:
// base64url(JSON payload) "." base64url(HMAC-SHA256(secret, that first part)).

import { timingSafeEqual } from "../cos/sign";
import { ApiError } from "../errors";

export interface UploadTokenPayload {
  v: 1;
  uploadId: string;
  key: string;
  /** The subject that created the upload. */
  sub: string;
  size: number;
  partSize: number;
  partCount: number;
  contentType: string;
  /** Expiry, Unix seconds. */
  exp: number;
}

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function mac(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data))));
}

export async function signUploadToken(payload: UploadTokenPayload, secret: string): Promise<string> {
  const body = base64url(encoder.encode(JSON.stringify(payload)));
  return `${body}.${await mac(secret, body)}`;
}

/**
 * The payload of a genuine, unexpired token; 403 otherwise. The MAC is compared in constant time
 * before the payload is parsed, so a forged token never reaches JSON.parse.
 */
export async function verifyUploadToken(token: string | undefined, secret: string, nowMs: number): Promise<UploadTokenPayload> {
  if (!token) throw new ApiError(401, "UploadTokenMissing", "Upload-Token header: required for this upload; use the token returned when the upload was created");
  const [body, sig, extra] = token.split(".");
  if (!body || !sig || extra !== undefined || !timingSafeEqual(sig, await mac(secret, body))) {
    throw new ApiError(403, "UploadTokenInvalid", "Upload-Token header: the token is not one this service issued, or it was changed");
  }
  let payload: UploadTokenPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(fromBase64url(body))) as UploadTokenPayload;
  } catch {
    throw new ApiError(403, "UploadTokenInvalid", "Upload-Token header: the token cannot be read");
  }
  if (payload.v !== 1) throw new ApiError(403, "UploadTokenInvalid", "Upload-Token header: unsupported token version");
  if (payload.exp * 1000 <= nowMs) throw new ApiError(403, "UploadTokenExpired", "Upload-Token header: the token has expired; start the upload again");
  return payload;
}
