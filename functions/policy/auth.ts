// Who is calling (DESIGN.md policy/auth.ts): a bearer JWT checked with a shared secret (HS256
// only) or a JWKS (RS256/ES256 only), so the algorithm is never taken from the token itself; or an
// `authorize` hook of the library user's; or, only when configured for local dev, nobody at all.

import type { Context } from "hono";
import { decode, verify, verifyWithJwks } from "hono/jwt";
import type { AuthConfig } from "../config";
import { ApiError, isApiError } from "../errors";
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

type Jwk = NonNullable<Parameters<typeof verifyWithJwks>[1]["keys"]>[number];

/** How long a fetched JWKS serves (per isolate), and how often a `kid` it lacks may refetch it (key rotation). */
export const JWKS_TTL_MS = 10 * 60_000;
export const JWKS_REFETCH_MS = 30_000;
/** How long a JWKS fetch may take (AuthConfig.jwksTimeoutMs overrides it): a JWKS that never answers must not hang every request. */
export const JWKS_TIMEOUT_MS = 5_000;
/** Retry-After of the 503 when the JWKS cannot be read: failures are not cached, so the next request fetches again. */
export const JWKS_RETRY_AFTER_SECONDS = 5;
/**
 * A URL's key set: `keys` the fetch (or its result), `inHand` the keys once read, `at` when they
 * were fetched (they serve JWKS_TTL_MS), `tried` when a fetch last started.
 */
interface JwksEntry {
  keys: Promise<Jwk[]>;
  inHand?: Jwk[];
  at: number;
  tried: number;
}
const jwksCache = new Map<string, JwksEntry>();

/**
 * The JWKS's keys, fetched once per JWKS_TTL_MS rather than on every request; concurrent callers
 * share one fetch. Rejects with 503 AuthUnavailable when the JWKS cannot be read: the server's
 * fault, not the token's, so it is not a 401.
 */
function jwksKeys(url: string, kid: unknown, now: number, timeoutMs: number): Promise<Jwk[]> {
  const cached = jwksCache.get(url);
  if (!cached || now - cached.at >= JWKS_TTL_MS) return fetchJwks(url, now, timeoutMs);
  // A known kid never waits, not even on a refetch under way (its keys may be late by the fetch timeout).
  if (cached.inHand?.some((key) => key.kid === kid)) return Promise.resolve(cached.inHand);
  return cached.keys.then((keys) => {
    // A kid the set lacks may be a new key: fetch again, at most once per JWKS_REFETCH_MS (a made-up
    // kid costs nothing to send). If that fails, the keys in hand still decide, for every caller.
    if (keys.some((key) => key.kid === kid) || now - cached.tried < JWKS_REFETCH_MS) return keys;
    cached.tried = now;
    return fetchJwks(url, now, timeoutMs, { keys: Promise.resolve(keys), inHand: keys, at: cached.at, tried: now });
  });
}

/** Fetches the key set and caches the fetch; when it fails, `fallback` (keys still in their lifetime) serves on. */
function fetchJwks(url: string, now: number, timeoutMs: number, fallback?: JwksEntry): Promise<Jwk[]> {
  const fetched = readJwks(url, timeoutMs);
  const entry: JwksEntry = { keys: fallback ? fetched.catch(() => fallback.keys) : fetched, inHand: fallback?.inHand, at: now, tried: now };
  jwksCache.set(url, entry);
  fetched.then(
    (keys) => void (entry.inHand = keys),
    // A failed fetch is not kept: the fallback serves again (refetched no sooner than before), or the next request tries again.
    () => {
      if (jwksCache.get(url) !== entry) return;
      if (fallback) jwksCache.set(url, fallback);
      else jwksCache.delete(url);
    },
  );
  return entry.keys;
}

async function readJwks(url: string, timeoutMs: number): Promise<Jwk[]> {
  let problem: string;
  let detail = "";
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
    if (res.ok) {
      const data = (await res.json().catch(() => null)) as { keys?: unknown } | null;
      if (data && Array.isArray(data.keys)) return data.keys as Jwk[];
      problem = data ? "its JSON has no keys array" : "it is not JSON";
    } else {
      problem = `it answered ${res.status}`;
      await res.body?.cancel();
    }
  } catch (error) {
    const { name, message } = error as Error;
    const timedOut = name === "TimeoutError" || name === "AbortError";
    problem = timedOut ? `no answer within ${timeoutMs} ms` : `the fetch failed (${name})`;
    if (!timedOut) detail = `: ${String(message).replaceAll(url, "<JWKS_URL>")}`;
  }
  // The URL is neither logged nor sent: its query may carry a credential of the key server's.
  console.error(`auth: the JWKS at JWKS_URL cannot be read: ${problem}${detail}`);
  throw new ApiError(503, "AuthUnavailable", `Authorization header: the token cannot be checked now, the key set (JWKS_URL) cannot be read: ${problem}; retry later`, {
    retryAfterSeconds: JWKS_RETRY_AFTER_SECONDS,
  });
}

/** Clock skew allowed between the token's issuer and this server, in seconds. */
export const JWT_LEEWAY_SECONDS = 60;

/**
 * What is wrong with the token's time claims at `now` (Unix seconds), or undefined. `exp` is
 * required: a token without one would be valid forever.
 */
export function jwtTimeProblem(payload: Record<string, unknown>, now: number): string | undefined {
  const { exp, nbf, iat } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp)) return "has no `exp` claim (a token must expire)";
  if (exp <= now - JWT_LEEWAY_SECONDS) return "has expired (`exp`)";
  if (nbf !== undefined && (typeof nbf !== "number" || !Number.isFinite(nbf) || nbf > now + JWT_LEEWAY_SECONDS)) return "is not valid yet (`nbf`)";
  if (iat !== undefined && (typeof iat !== "number" || !Number.isFinite(iat) || iat > now + JWT_LEEWAY_SECONDS)) return "was issued in the future (`iat`)";
  return undefined;
}

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
  // Time claims are checked below, with leeway for clock skew (hono's checks have none).
  const verification = { iss: auth.issuer, aud: auth.audience, exp: false, nbf: false, iat: false };
  let payload: Record<string, unknown>;
  try {
    payload = auth.secret
      ? await verify(token, auth.secret, { alg: "HS256", ...verification })
      : await verifyWithJwks(token, {
          keys: await jwksKeys(auth.jwksUrl!, decode(token).header.kid, Date.now(), auth.jwksTimeoutMs ?? JWKS_TIMEOUT_MS),
          allowedAlgorithms: ["RS256", "ES256"],
          verification,
        });
  } catch (error) {
    // JWKS unavailable: 503 from jwksKeys. Anything else is about the token.
    if (isApiError(error)) throw error;
    throw new ApiError(401, "Unauthenticated", `Authorization header: the JWT was refused (${(error as Error).name})`);
  }
  if (typeof payload.sub !== "string" || payload.sub === "") throw new ApiError(401, "Unauthenticated", "Authorization header: the JWT has no `sub` claim");
  const timeProblem = jwtTimeProblem(payload, Date.now() / 1000);
  if (timeProblem) throw new ApiError(401, "Unauthenticated", `Authorization header: the JWT ${timeProblem}`);
  return { subject: payload.sub };
}
