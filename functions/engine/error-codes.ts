/**
 * Every error code Nightshift assigns itself, in one place: results carry them in `errorCode`,
 * the README's table explains each (a test keeps the two in step), and no other module spells
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
