// Who is calling (DESIGN.md policy/auth.ts): a bearer JWT checked with a shared secret (HS256
// only) or a JWKS (RS256/ES256 only), so the algorithm is never taken from the token itself; or an
// `authorize` hook of the library user's; or, only when configured for local dev, nobody at all.

import type { Context } from "hono";
import { verify, verifyWithJwks } from "hono/jwt";
import type { AuthConfig } from "../config";
import { ApiError } from "../errors";
import type { Grant } from "./grant";

export interface Principal {
  subject: string;
  /** Narrower limits for this caller (a smaller size cap, other content types, another prefix). */
  grant?: Partial<Omit<Grant, "subject">>;
}

/** A library user's own authentication: return the caller, or null for 401. */
export type AuthorizeHook = (c: Context) => Promise<Principal | null> | Principal | null;

/** Header every response carries when AUTH_MODE=none, so nobody ships it unnoticed. */
export const AUTH_NONE_WARNING = "AUTH_MODE=none: every caller is trusted; local development only";
/** In AUTH_MODE=none, the subject a dev page may pick (default "dev"). */
export const DEV_SUBJECT_HEADER = "x-dev-subject";

function bearer(c: Context): string {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, "Unauthenticated", "Authorization header: send `Bearer <JWT>`");
  return match[1];
}

export async function authenticate(c: Context, auth: AuthConfig, hook?: AuthorizeHook): Promise<Principal> {
  if (hook) {
    const principal = await hook(c);
    if (!principal || typeof principal.subject !== "string" || !principal.subject) {
      throw new ApiError(401, "Unauthenticated", "the request carries no valid credentials");
    }
    return principal;
  }
  if (auth.mode === "none") return { subject: c.req.header(DEV_SUBJECT_HEADER) || "dev" };
  const token = bearer(c);
  const verification = { iss: auth.issuer, aud: auth.audience };
  let payload: Record<string, unknown>;
  try {
    payload = auth.secret
      ? await verify(token, auth.secret, { alg: "HS256", ...verification })
      : await verifyWithJwks(token, { jwks_uri: auth.jwksUrl, allowedAlgorithms: ["RS256", "ES256"], verification });
  } catch (error) {
    throw new ApiError(401, "Unauthenticated", `Authorization header: the JWT was refused (${(error as Error).name})`);
  }
  if (typeof payload.sub !== "string" || payload.sub === "") throw new ApiError(401, "Unauthenticated", "Authorization header: the JWT has no `sub` claim");
  return { subject: payload.sub };
}
