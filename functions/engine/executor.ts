import type { AccountConfig, Config, TargetConfig } from './config/schema.ts';
import { actionProblem } from './config/validate.ts';
import { ErrorCode } from './error-codes.ts';
import { type Action, kindSupports, type TargetKind } from './kinds.ts';
import type { StatusRead, TargetState } from './states.ts';

export type ResultStatus = 'succeeded' | 'failed' | 'skipped' | 'dry-run' | 'unchanged';

/** One target's result, in the shape of the contract (`run --json`, HTTP API, ledger). */
export interface ActionResult {
  target: string;
  /** Absent only for a target the config does not know. */
  kind?: TargetKind;
  action: Action;
  ok: boolean;
  status: ResultStatus;
  httpStatus?: number;
  errorCode?: string;
  errorMessage?: string;
  attempts: number;
  durationMs: number;
  /** After a call: whether a status read showed the state reached. */
  verified?: boolean;
  /** The state the target was being brought to. */
  desired?: TargetState;
  /** The upstream status text last read; null when the read failed. */
  observed?: string | null;
}

/** What carrying out one action upstream produced. */
export interface Outcome {
  ok: boolean;
  httpStatus?: number;
  errorCode?: string;
  errorMessage?: string;
  attempts: number;
  durationMs: number;
}

export interface TargetRef {
  target: string;
  config: TargetConfig;
  account: { name: string; config: AccountConfig };
}

export interface UpstreamItem extends TargetRef {
  action: Action;
}

export interface PerformOptions {
  /**
   * Epoch milliseconds (real clock) by which every outcome must be known: no call, retry or wait
   * runs past it, and no request is sent after it. A call it cuts short fails with
   * `ErrorCode.deadline` (outcome unknown when `attempts > 0`; not sent when 0).
   */
  deadline?: number;
  /** Aborts the work: nothing is sent after it fires; requests under way are cut short. */
  signal?: AbortSignal;
  /**
   * Asked for each item at the moment its request is about to be sent (its connection slot and
   * credentials ready): `false` and it is not sent (outcome `ErrorCode.notSent`). The engine
   * writes the call's lease and in-flight record here, so that a call is marked in flight only
   * when it goes out. For a DRS batch it is asked for each job; jobs refused leave the batch.
   * `observe` asks it for each status read too (a hands-off may have begun since the decision):
   * a refused read answers `ErrorCode.notSent`.
   */
  admit?: (index: number) => Promise<boolean>;
  /**
   * Asked for each item of `perform` (one call per target; not for DRS batches) before its
   * request waits for a connection slot, its credentials ready: `false` and it is not sent
   * (`ErrorCode.notSent`). The engine writes the call's in-flight record here rather than in
   * `admit`, so no slot is held while it is written; `admit` then checks once more as it goes
   * out. An item prepared may still not be sent (the deadline passed while it waited, or `admit`
   * refused it): its outcome then says it was not sent.
   */
  prepare?: (index: number) => Promise<boolean>;
  /**
   * Told, synchronously, the items an admitted request carries at the last moment before its
   * bytes are written to the connection (again for each retry of it): the engine marks their
   * sending in the ledger here. It may throw: then the request is not sent (`ErrorCode.notSent`).
   */
  onSending?: (indexes: readonly number[]) => void;
}

/** Carries actions out upstream and reads status; never throws for one target's failure. */
export interface Upstream {
  perform(
    items: readonly UpstreamItem[],
    onOutcome?: (index: number, outcome: Outcome) => void,
    options?: PerformOptions,
  ): Promise<Outcome[]>;
  /** One status read per item, in order; `null` for a kind without a status query. */
  observe(items: readonly TargetRef[], options?: PerformOptions): Promise<(StatusRead | null)[]>;
}

export interface ActionRequest {
  target: string;
  action: Action | string;
}

export interface ExecuteOptions {
  upstream: Upstream;
  dryRun?: boolean;
  /** Passed on to the upstream: see `PerformOptions.deadline`. */
  deadline?: number;
  /** Called as each result is known: progress lines, logs. */
  onResult?: (result: ActionResult) => void;
}

/**
 * Carries out actions on targets and returns one result per request, in request order. A
 * request the config forbids (unknown target, an action the kind lacks, a DRS stop without
 * `allowStop`) fails without any call; the others go upstream together, so one failing target
 * never stops the rest.
 */
export async function execute(
  config: Config,
  requests: readonly ActionRequest[],
  options: ExecuteOptions,
): Promise<ActionResult[]> {
  const results: (ActionResult | undefined)[] = new Array(requests.length);
  const pending: { index: number; item: UpstreamItem }[] = [];
  const settle = (index: number, result: ActionResult) => {
    results[index] = result;
    options.onResult?.(result);
  };

  requests.forEach((request, index) => {
    const target = Object.hasOwn(config.targets, request.target) ? config.targets[request.target] : undefined;
    const action = request.action as Action;
    if (!target) {
      settle(
        index,
        refused(
          request.target,
          undefined,
          action,
          ErrorCode.unknownTarget,
          `unknown target "${request.target}"`,
        ),
      );
      return;
    }
    const problem = actionProblem(
      request.target,
      target.kind,
      request.action,
      target as Record<string, unknown>,
    );
    if (problem) {
      const code = kindSupports(target.kind, request.action)
        ? ErrorCode.stopNotAllowed
        : ErrorCode.unsupportedAction;
      settle(index, refused(request.target, target.kind, action, code, problem));
      return;
    }
    if (options.dryRun) {
      settle(index, {
        target: request.target,
        kind: target.kind,
        action,
        ok: true,
        status: 'dry-run',
        attempts: 0,
        durationMs: 0,
      });
      return;
    }
    const account = config.accounts[target.account]!;
    pending.push({
      index,
      item: {
        target: request.target,
        config: target,
        account: { name: target.account, config: account },
        action,
      },
    });
  });

  if (pending.length > 0) {
    const toResult = resultOf;
    const outcomes = await options.upstream.perform(
      pending.map((p) => p.item),
      (i, outcome) => settle(pending[i]!.index, toResult(pending[i]!.item, outcome)),
      options.deadline === undefined ? {} : { deadline: options.deadline },
    );
    // Results not reported through the callback are filled in from the returned list.
    outcomes.forEach((outcome, i) => {
      const { index, item } = pending[i]!;
      if (!results[index]) settle(index, toResult(item, outcome));
    });
  }
  return results.map(
    (r, i) =>
      r ??
      refused(
        requests[i]!.target,
        config.targets[requests[i]!.target]?.kind,
        requests[i]!.action as Action,
        ErrorCode.internal,
        'no result',
      ),
  );
}

/** A call's outcome as a result of the contract's shape. */
export function resultOf(item: UpstreamItem, outcome: Outcome): ActionResult {
  return {
    target: item.target,
    kind: item.config.kind,
    action: item.action,
    ok: outcome.ok,
    status: outcome.ok ? 'succeeded' : 'failed',
    ...(outcome.httpStatus === undefined ? {} : { httpStatus: outcome.httpStatus }),
    ...(outcome.errorCode === undefined ? {} : { errorCode: outcome.errorCode }),
    ...(outcome.errorMessage === undefined ? {} : { errorMessage: outcome.errorMessage }),
    attempts: outcome.attempts,
    durationMs: outcome.durationMs,
  };
}

function refused(
  target: string,
  kind: TargetKind | undefined,
  action: Action,
  code: string,
  message: string,
): ActionResult {
  return {
    target,
    ...(kind ? { kind } : {}),
    action,
    ok: false,
    status: 'failed',
    errorCode: code,
    errorMessage: message,
    attempts: 0,
    durationMs: 0,
  };
}
