/**
 * The web server's routes: sign-in and out, the start page and /metrics. A console page is one more
 * route here (its access, its handler); the pipeline in server.ts does the checks.
 */
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
import { type MetricsSources, renderMetrics } from "./metrics.ts";
import { homePage, loginPage } from "./pages.ts";
import { html, type Route, redirect } from "./server.ts";

export function routes(sources: MetricsSources): Route[] {
  const { nodeId, version } = sources;
  return [
    {
      method: "GET",
      path: "/",
      access: "page",
      handle: ({ session }) => html(200, homePage({ nodeId, version, csrf: session!.csrf, user: session!.user })),
    },
    {
      method: "GET",
      path: "/login",
      access: "public",
      handle: ({ session, auth }) => (!auth.required || session?.user !== undefined ? redirect("/") : html(200, loginPage(nodeId, session!.csrf))),
    },
    {
      method: "POST",
      path: "/login",
      access: "public",
      handle: async ({ form, address, auth, session, setSession }) => {
        if (!auth.required) return redirect("/");
        const signedIn = await auth.signIn(address, form?.get("username") ?? "", form?.get("password") ?? "");
        if (signedIn === undefined) return html(401, loginPage(nodeId, session!.csrf, "Wrong user or password."));
        // A new session on sign-in: the token the login form had never becomes a signed-in one.
        auth.end(session!.token);
        setSession(signedIn);
        return redirect("/");
      },
    },
    {
      method: "POST",
      path: "/logout",
      access: "page",
      handle: ({ session, auth, setSession }) => {
        auth.end(session!.token);
        setSession(undefined);
        return redirect(auth.required ? "/login" : "/");
      },
    },
    {
      method: "GET",
      path: "/metrics",
      access: "scrape",
      handle: () => new Response(renderMetrics(sources), { headers: { "Content-Type": EXPOSITION_CONTENT_TYPE } }),
    },
  ];
}
