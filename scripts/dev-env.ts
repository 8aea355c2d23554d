// The environment `npm run dev` gives the functions: cos-local's credentials and bucket, plus
// secrets that exist for local development only. DEV-ONLY: these values are public (they are in
// this file); a deployment sets its own with `wrangler secret put` (README "Deploy to Cloudflare").
// JWT_SECRET and UPLOAD_TOKEN_SECRET in the shell override them, for dev and for dev tokens alike.

import { sign } from "hono/jwt";

/** DEV-ONLY HS256 secret for bearer JWTs under `npm run dev`. */
export const DEV_JWT_SECRET = "cos-direct-DEV-ONLY-jwt-secret-never-deploy";
/** DEV-ONLY HMAC-SHA256 secret for upload tokens under `npm run dev`. */
export const DEV_UPLOAD_TOKEN_SECRET = "cos-direct-DEV-ONLY-upload-token-secret-never-deploy";

export function devJwtSecret(env: NodeJS.ProcessEnv = process.env): string {
  return env.JWT_SECRET || DEV_JWT_SECRET;
}

/** What cos-local's handle tells the functions (startCosLocal's return value). */
export interface CosLocalTarget {
  url: string;
  bucket: string;
  region: string;
  secretId: string;
  secretKey: string;
  securityToken?: string;
}

/** The variables `wrangler dev` receives (in its --env-file): every one functions/config.ts requires. */
export function devVars(cos: CosLocalTarget, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    COS_ENDPOINT: cos.url,
    COS_SECRET_ID: cos.secretId,
    COS_SECRET_KEY: cos.secretKey,
    ...(cos.securityToken ? { COS_SECURITY_TOKEN: cos.securityToken } : {}),
    COS_BUCKET: cos.bucket,
    COS_REGION: cos.region,
    UPLOAD_TOKEN_SECRET: env.UPLOAD_TOKEN_SECRET || DEV_UPLOAD_TOKEN_SECRET,
    JWT_SECRET: devJwtSecret(env),
  };
}

/** An HS256 bearer JWT for `sub`, signed with the dev secret (or `secret`). */
export async function devJwt(sub: string, options: { secret?: string; ttlSeconds?: number; now?: number } = {}): Promise<string> {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  return sign({ sub, iat, exp: iat + (options.ttlSeconds ?? 3600) }, options.secret ?? devJwtSecret(), "HS256");
}
