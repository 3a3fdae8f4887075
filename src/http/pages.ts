/**
 * The web server's HTML: plain pages with their style inline and nothing from elsewhere (no CDN; the
 * console's one script is served by hearth, console-script.ts), so they work on a board without internet
 * and under a strict Content-Security-Policy. The console's page is console-pages.ts.
 */

/** Text made safe inside HTML, attribute values included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}form{margin:1rem 0}label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}
button{font:inherit;padding:.3rem 1rem}.error{color:#a00}.ok{color:#060}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline}header form{margin:0}
[data-live=on]{color:#060}[data-live=off]{color:#a60}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dd{margin:0;overflow-wrap:anywhere}
.device{border:1px solid #ccc;border-radius:.4rem;padding:0 .8rem;margin:1rem 0}.device[data-available=false] h3{color:#888}
.device table{width:100%;border-collapse:collapse;table-layout:fixed}.device col.name{width:33.5%}.device col.controls{width:46%}.device input[type=range]{width:100%;margin:0}.device label{margin:0;width:100%}.device th{text-align:left;font-weight:normal}.device td,.device th{overflow-wrap:anywhere}
.device td,.device th{padding:.3rem .2rem;border-top:1px solid #eee;vertical-align:top}
.device form{margin:0;display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}.device input[type=number]{width:6rem}
.status{color:#555;font-size:.9rem}
@media (max-width:30rem){.device col.controls{width:40%}}`;

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
