import { ErrorCode } from './error-codes.ts';
import type { ActionResult } from './executor.ts';
import type { StatusRead, TargetState } from './states.ts';

/**
 * A call's result judged by the status read after it. The read is the truth: a call whose answer
 * was lost (a timeout after the change was made) succeeded if the status shows the state; a
 * successful call whose state is not showing yet (a transition under way) is not verified.
 */
export function judged(
  result: ActionResult,
  verify: StatusRead | null | undefined,
  desired: TargetState,
): { result: ActionResult; answerLost: boolean } {
  if (verify === undefined || verify === null) return { result: { ...result, desired }, answerLost: false };
  const observation = verify.observation;
  const verified = observation?.state === desired;
  // Only a call with no answer can have been applied unseen; a refusal is a refusal.
  const answerLost =
    verified &&
    !result.ok &&
    (result.errorCode === ErrorCode.timeout || result.errorCode === ErrorCode.network);
  // `ok` is the call's own success, or the state reached after a lost answer; `verified` says
  // whether the read showed the state.
  const ok = result.ok || answerLost;
  const { errorCode, errorMessage, ...rest } = result;
  return {
    answerLost,
    result: {
      ...rest,
      ok,
      status: ok ? 'succeeded' : 'failed',
      ...(!answerLost && errorCode ? { errorCode } : {}),
      ...(!answerLost && errorMessage ? { errorMessage } : {}),
      verified,
      desired,
      observed: observation ? observation.text : null,
    },
  };
}
