// `npm run dev:token -- <sub> [hours]`: prints a bearer JWT (HS256) for the API under `npm run dev`,
// signed with the DEV-ONLY secret of scripts/dev-env.ts (or $JWT_SECRET). Valid 1 hour by default.
//
//   curl -H "Authorization: Bearer $(npm run -s dev:token -- alice)" http://127.0.0.1:8787/v1/uploads

import { devJwt } from "./dev-env";

const [sub, hours = "1"] = process.argv.slice(2);
if (!sub || !(Number(hours) > 0)) {
  console.error("usage: npm run -s dev:token -- <sub> [hours]   (prints a dev-only JWT for `npm run dev`)");
  process.exit(2);
}
console.log(await devJwt(sub, { ttlSeconds: Math.round(Number(hours) * 3600) }));
