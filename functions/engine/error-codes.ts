/**
 * Every error code Nightshift assigns itself, in one place: results carry them in `errorCode`,
 * docs/error-codes.md explains each (a test keeps the two in step), and no other module spells
 * one out. Upstream codes (`DRS.*`, `APIGW.*`, `SVCSTG.CPTS.*`, ...) pass through as upstream
 * gave them.
 */
export const ErrorCode = {
  /** No answer in time: a state-changing call may have been applied with its answer lost. */
  timeout: 'NIGHTSHIFT.TIMEOUT',
  /** Connection refused or reset, after every retry. */
  network: 'NIGHTSHIFT.NETWORK',
  /** Not JSON, or without the fields that say whether it worked. */
  badResponse: 'NIGHTSHIFT.BAD_RESPONSE',
  /** An HTTP error status whose body named no upstream error code. */
  httpStatus: 'NIGHTSHIFT.HTTP_STATUS',
  /** The account's secret is missing or malformed. */
  secret: 'NIGHTSHIFT.SECRET',
  /**
   * The account's secret still holds the placeholder the stack created (`{"placeholder": ...}`):
   * nothing was attempted. Not a failed action: someone has yet to put the credentials in.
   */
  secretNotSet: 'NIGHTSHIFT.SECRET_NOT_SET',
  /** IAM gave no usable token and named no error code of its own. */
  iam: 'NIGHTSHIFT.IAM',
  /** A DRS batch answer had no item for this job. */
  noResult: 'NIGHTSHIFT.NO_RESULT',
  /** A fault inside Nightshift. */
  internal: 'NIGHTSHIFT.INTERNAL',
  /** A desired state superseded before it could be reached; a DRS stop past the lateness bound. */
  missed: 'NIGHTSHIFT.MISSED',
  /** The desired state cannot be reached (e.g. the DRS job has ended): not retried. */
  unreachable: 'NIGHTSHIFT.UNREACHABLE',
  /** A call whose process stopped before recording it, and the status does not show it worked. */
  outcomeUnknown: 'NIGHTSHIFT.OUTCOME_UNKNOWN',
  /** The caller's deadline came first: the call was not made, or its outcome is unknown. */
  deadline: 'NIGHTSHIFT.DEADLINE',
  /** A call decided but not sent: an override came, or the deadline passed, before it went out. */
  notSent: 'NIGHTSHIFT.NOT_SENT',
  /** Another process or request is acting on the target right now. */
  busy: 'NIGHTSHIFT.BUSY',
  /** An on-demand action on a target under a hands-off override: no call made. */
  handsOff: 'NIGHTSHIFT.HANDS_OFF',
  /** A request named a target the config does not have. */
  unknownTarget: 'NIGHTSHIFT.UNKNOWN_TARGET',
  /** A request asked a target for an action its kind lacks. */
  unsupportedAction: 'NIGHTSHIFT.UNSUPPORTED_ACTION',
  /** A DRS `stop` on a target without `allowStop: true`. */
  stopNotAllowed: 'NIGHTSHIFT.STOP_NOT_ALLOWED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The codes of the HTTP API's error answers, `{"error": {"code", "message"}}`, each with its
 * status in docs/http-api.md: callers branch on them, so they are promises like the codes above.
 * `HttpError` takes only these, so a route cannot answer with a code of its own making.
 */
export const HttpErrorCode = {
  /** 400: a malformed body, query or field. */
  badRequest: 'bad_request',
  /** 401: no signature, a wrong one, a timestamp too far off; no session on the page. */
  unauthorized: 'unauthorized',
  /** 401: a signature already used within the window. */
  replayed: 'replayed',
  /** 403: the page's form from another site or session, or a read-only session writing. */
  forbidden: 'forbidden',
  /** 404: an unknown target, group, schedule, override or route. */
  notFound: 'not_found',
  /** 405: a method the route does not take. */
  methodNotAllowed: 'method_not_allowed',
  /** 409: the first request with this Idempotency-Key is still running. */
  idempotencyInProgress: 'idempotency_in_progress',
  /** 409: a target under a hands-off override. */
  handsOff: 'hands_off',
  /** 413: a body over 64 KiB. */
  payloadTooLarge: 'payload_too_large',
  /** 415: a body not sent as application/json. */
  unsupportedMediaType: 'unsupported_media_type',
  /** 422: an action the target's kind lacks, or a DRS stop without allowStop. */
  unsupportedAction: 'unsupported_action',
  /** 422: an override state the target's kind cannot have. */
  unsupportedState: 'unsupported_state',
  /** 422: an Idempotency-Key used with a different body. */
  idempotencyMismatch: 'idempotency_mismatch',
  /** The kept answer to an Idempotency-Key, when the first one was too large to keep. */
  answerNotKept: 'answer_not_kept',
  /** 500: a fault inside Nightshift (the log has it, under the request id the message names). */
  internal: 'internal',
  /** 503: the state cannot be written (a full disk, a read-only or unreadable state folder). */
  stateUnwritable: 'state_unwritable',
  /** 503: the webhook secret is missing or malformed. */
  webhookKeyUnavailable: 'webhook_key_unavailable',
  /** 504: some calls had no answer before the request's deadline. */
  deadlineExceeded: 'deadline_exceeded',
} as const;

export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];
