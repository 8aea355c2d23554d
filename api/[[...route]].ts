// Vercel's file route for the whole API (Edge runtime). Deploy with `vercel deploy`; set the
// COS_* and auth variables in the project's environment settings (README "Deploy to Vercel").
export const config = { runtime: "edge" };
export { GET, POST, DELETE, OPTIONS } from "../functions/vercel";
