// Workers entry. The presign API (createApp, routes, policy) arrives with issue 3; until then the
// worker only answers liveness, so `wrangler dev` and the workerd test project have an entry to load.
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return Response.json({ error: { code: "NotFound", message: `no route for ${request.method} ${url.pathname}`, requestId: crypto.randomUUID() } }, { status: 404 });
  },
};
