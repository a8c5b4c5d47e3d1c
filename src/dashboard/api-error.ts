/**
 * An error the HTTP API answers with its own status: `{"error": "<one line>"}` (docs/api.md).
 * Anything else thrown while serving a request is a 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function notFound(message: string): ApiError {
  return new ApiError(404, message);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, message);
}

/** A message on one line (error texts of DuckDB, PostgreSQL and Kafka can span several). */
export function oneLine(text: string): string {
  return text
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(" ");
}
