/**
 * The web server's HTML: plain pages with their style inline and nothing from elsewhere (no CDN, no
 * script), so they work on a board without internet and under a strict Content-Security-Policy.
 */

/** Text made safe inside HTML, attribute values included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}form{margin:1rem 0}label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}
button{font:inherit;padding:.3rem 1rem}.error{color:#a00}`;

/** A whole page: `body` is HTML the caller has escaped. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
}

/** The hidden field that carries a session's CSRF token in a form. */
export function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}

export function loginPage(nodeId: string, csrf: string, error?: string): string {
  return page(
    `hearth ${nodeId}: sign in`,
    `<h1>hearth ${escapeHtml(nodeId)}</h1>
${error === undefined ? "" : `<p class="error">${escapeHtml(error)}</p>\n`}<form method="post" action="/login">
${csrfField(csrf)}
<label>User <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** The start page; the console's pages (devices, entities, the log) come later beside it. */
export function homePage(options: { nodeId: string; version: string; csrf: string; user: string | undefined }): string {
  const signOut = options.user === undefined ? "" : `<form method="post" action="/logout">${csrfField(options.csrf)}<button type="submit">Sign out ${escapeHtml(options.user)}</button></form>`;
  return page(
    `hearth ${options.nodeId}`,
    `<h1>hearth ${escapeHtml(options.nodeId)}</h1>
<p>hearth ${escapeHtml(options.version)}. Its figures for Prometheus: <a href="/metrics">/metrics</a>.</p>
${signOut}`,
  );
}
