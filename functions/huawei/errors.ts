export interface UpstreamErrorDetails {
  /** What was called, e.g. `PUT /v2/{project_id}/tasks/{task_id}/action/start`. */
  call: string;
  code: string;
  httpStatus?: number;
  attempts: number;
  cause?: unknown;
}

/**
 * A failed upstream call. The message names the call, the HTTP status and the upstream
 * `error_code`; it never holds a token, a password or a secret value.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  readonly call: string;
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly attempts: number;

  constructor(message: string, details: UpstreamErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.call = details.call;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.attempts = details.attempts;
  }
}
