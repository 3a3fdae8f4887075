import { HearthError } from "../core/errors.ts";

/** Codes of the web server's errors. */
export type HttpErrorCode =
  /** Another program holds the address `http.listen` names. */
  | "HTTP_PORT_TAKEN"
  /** HEARTH_HTTP_LISTEN is not host:port. */
  | "HTTP_BAD_LISTEN"
  /** A listener other than loopback without a password: anyone on the network could use it. */
  | "HTTP_AUTH_REQUIRED";

/** An error of the web server (src/http/). */
export class HttpError extends HearthError<HttpErrorCode> {
  override readonly name = "HttpError";
}

/** Narrows a thrown value to an HttpError. */
export function isHttpError(err: unknown, code?: HttpErrorCode): err is HttpError {
  return err instanceof HttpError && (code === undefined || err.code === code);
}
