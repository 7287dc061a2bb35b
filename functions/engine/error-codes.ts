/** Codes Nightshift assigns to outcomes of reconciliation (no upstream `error_code` applies). */
export const ErrorCode = {
  /** A desired state superseded before it could be reached; a DRS stop past the lateness bound. */
  missed: 'NIGHTSHIFT.MISSED',
  /** The desired state cannot be reached (e.g. the DRS job has ended): not retried. */
  unreachable: 'NIGHTSHIFT.UNREACHABLE',
  /** A call whose process stopped before recording it, and the status does not show it worked. */
  outcomeUnknown: 'NIGHTSHIFT.OUTCOME_UNKNOWN',
  /** No answer in time: a state-changing call may have been applied with its answer lost. */
  timeout: 'NIGHTSHIFT.TIMEOUT',
  /** The caller's deadline came first: the call was not made, or its outcome is unknown. */
  deadline: 'NIGHTSHIFT.DEADLINE',
  network: 'NIGHTSHIFT.NETWORK',
} as const;
