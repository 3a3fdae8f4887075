import pkg from "../package.json" with { type: "json" };

// Set by deploy/build (`--define HEARTH_BUILD_VERSION=…`) to the version a binary is built as; unset from source.
declare const HEARTH_BUILD_VERSION: string | undefined;

/** hearth's version: the one a binary was built as, else package.json's. */
export const VERSION: string = typeof HEARTH_BUILD_VERSION === "string" ? HEARTH_BUILD_VERSION : pkg.version;

/** Where hearth's users find help (Home Assistant's discovery `origin.support_url`): package.json's repository, else hearth's home. */
export const SUPPORT_URL: string = repositoryUrl((pkg as { repository?: string | { url?: string } }).repository) ?? "https://github.com/hearth-iot/hearth";

/** package.json's `repository` (a URL, or `{url}`, perhaps `git+…` and `.git`) as a page's address. */
function repositoryUrl(repository: string | { url?: string } | undefined): string | undefined {
  const url = typeof repository === "string" ? repository : repository?.url;
  if (url === undefined || !/^(git\+)?https?:\/\//.test(url)) return undefined;
  return url.replace(/^git\+/, "").replace(/\.git$/, "");
}
