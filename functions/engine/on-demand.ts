import type { Config } from './config/schema.ts';
import { actionProblem } from './config/validate.ts';
import { type ActionRequest, type ActionResult, execute, type TargetRef, type Upstream } from './executor.ts';
import { type Action, kindSupports } from './kinds.ts';
import { type StatusRead, stateAfter } from './states.ts';
import { judged } from './verify.ts';

export interface OnDemandOptions {
  upstream: Upstream;
  dryRun?: boolean;
  /** Make the call even when the target is already in the requested state. */
  force?: boolean;
  /** Epoch ms (real clock) for every read and call: see `PerformOptions.deadline`. */
  deadline?: number;
  onResult?: (result: ActionResult) => void;
}

/**
 * An action asked for now (`run`, `POST /v1/actions`, `trigger`), carried out the way
 * reconciliation does it: read the status first, and a target already in the requested state
 * gets `unchanged` and no call (unless `force`); otherwise one call, then a status read to verify.
 * A status read that fails does not stop the call: the result then carries `observed: null`.
 */
export async function carryOut(
  config: Config,
  requests: readonly ActionRequest[],
  options: OnDemandOptions,
): Promise<ActionResult[]> {
  if (options.dryRun) return execute(config, requests, options);
  const results: ActionResult[] = new Array(requests.length);
  const settle = (index: number, result: ActionResult) => {
    results[index] = result;
    options.onResult?.(result);
  };

  // Requests the config refuses never reach upstream: execute() gives their refusal.
  const valid: { index: number; ref: TargetRef; action: Action }[] = [];
  const refused: number[] = [];
  requests.forEach((request, index) => {
    const target = Object.hasOwn(config.targets, request.target) ? config.targets[request.target] : undefined;
    if (
      !target ||
      !kindSupports(target.kind, request.action) ||
      actionProblem(request.target, target.kind, request.action, target as Record<string, unknown>)
    ) {
      refused.push(index);
      return;
    }
    const account = { name: target.account, config: config.accounts[target.account]! };
    valid.push({ index, ref: { target: request.target, config: target, account }, action: request.action });
  });
  if (refused.length > 0) {
    const answers = await execute(
      config,
      refused.map((i) => requests[i]!),
      { upstream: options.upstream },
    );
    for (const [i, index] of refused.entries()) settle(index, answers[i]!);
  }
  if (valid.length === 0) return results;

  const bounded = options.deadline === undefined ? {} : { deadline: options.deadline };
  const before = await options.upstream.observe(
    valid.map((v) => v.ref),
    bounded,
  );
  const toCall: { index: number; ref: TargetRef; action: Action; before: StatusRead | null }[] = [];
  valid.forEach((v, i) => {
    const read = before[i]!;
    const desired = stateAfter(v.ref.config.kind, v.action);
    if (!options.force && read?.observation?.state === desired) {
      settle(v.index, {
        target: v.ref.target,
        kind: v.ref.config.kind,
        action: v.action,
        ok: true,
        status: 'unchanged',
        attempts: 0,
        durationMs: 0,
        desired,
        observed: read.observation.text,
      });
    } else toCall.push({ ...v, before: read });
  });
  if (toCall.length === 0) return results;

  const called = await execute(
    config,
    toCall.map((c) => ({ target: c.ref.target, action: c.action })),
    { upstream: options.upstream, ...bounded },
  );
  const after = await options.upstream.observe(
    toCall.map((c) => c.ref),
    bounded,
  );
  toCall.forEach((c, i) => {
    const desired = stateAfter(c.ref.config.kind, c.action);
    // Without a status query there is nothing to verify; with one, the read after is the truth.
    settle(c.index, judged(called[i]!, c.before === null ? null : after[i], desired).result);
  });
  return results;
}
