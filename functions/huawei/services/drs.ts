import { ErrorCode } from '../../engine/error-codes.ts';
import type { StatusRead } from '../../engine/states.ts';
import {
  type AccountRef,
  authorizedCall,
  type CallOutcome,
  failed,
  succeeded,
  type UpstreamContext,
  unreadable,
  upstreamError,
} from '../call.ts';
import { drsJobObservation } from '../status-map.ts';

/** DRS advises at most 10 jobs per batch call. */
export const DRS_BATCH_LIMIT = 10;

export interface DrsJobRef {
  jobId: string;
  pauseMode: 'target' | 'all';
}

/**
 * Pauses (`batch-pause-task`, seed 003) or resumes (`batch-retry-task`) up to ten jobs of one
 * account in one call, and splits the answer back per job: each job succeeds only if its own
 * result item says `status: "success"`.
 */
export async function drsBatch(
  ctx: UpstreamContext,
  account: AccountRef,
  action: 'pause' | 'resume',
  all: readonly DrsJobRef[],
  /** Asked for each job as the batch is about to be sent; jobs refused leave the batch. */
  admitJob?: (index: number) => Promise<boolean>,
  /** Told the jobs admitted as the batch is written to the connection: see `Admit`. */
  sendingJobs?: (indexes: readonly number[]) => void,
): Promise<Map<string, CallOutcome>> {
  if (all.length === 0 || all.length > DRS_BATCH_LIMIT) {
    throw new RangeError(`a DRS batch holds 1 to ${DRS_BATCH_LIMIT} jobs, got ${all.length}`);
  }
  const operation = action === 'pause' ? 'batch-pause-task' : 'batch-retry-task';
  const call = `POST /v3/{project_id}/jobs/${operation}`;
  const bodyOf = (jobs: readonly DrsJobRef[]) => ({
    jobs: jobs.map((j) =>
      action === 'pause' ? { job_id: j.jobId, pause_mode: j.pauseMode } : { job_id: j.jobId },
    ),
  });
  let jobs = all;
  const outcomes = new Map<string, CallOutcome>();
  const admit = admitJob
    ? async () => {
        const admitted = await Promise.all(all.map((_, i) => admitJob(i)));
        jobs = all.filter((_, i) => admitted[i]);
        for (const [i, job] of all.entries())
          if (!admitted[i])
            outcomes.set(job.jobId, {
              ok: false,
              errorCode: ErrorCode.notSent,
              errorMessage: `${call}: job ${job.jobId} was called off just before the batch went out`,
              attempts: 0,
            });
        if (jobs.length === 0) return false as const;
        const sent = all.flatMap((_, i) => (admitted[i] ? [i] : []));
        return { body: bodyOf(jobs), ...(sendingJobs ? { sending: () => sendingJobs(sent) } : {}) };
      }
    : undefined;
  const response = await authorizedCall(admit ? { ...ctx, admit } : ctx, account, {
    service: 'drs',
    method: 'POST',
    path: `/v3/${encodeURIComponent(account.config.projectId)}/jobs/${operation}`,
    call,
    changesState: true,
    body: bodyOf(all),
  });
  if (response.status !== 200 || upstreamError(response.body)) {
    const outcome = failed(call, response, { message: 'request refused' });
    for (const job of jobs) outcomes.set(job.jobId, outcome);
    return outcomes;
  }
  const results = (response.body as { results?: unknown } | undefined)?.results;
  const items = Array.isArray(results) ? (results as Record<string, unknown>[]) : [];
  for (const job of jobs) {
    const item = items.find((r) => r?.id === job.jobId);
    if (!item) {
      outcomes.set(job.jobId, {
        ok: false,
        httpStatus: response.status,
        errorCode: ErrorCode.noResult,
        errorMessage: `${call} answered 200 without a result for job ${job.jobId}`,
        attempts: response.attempts,
      });
    } else if (item.status !== 'success') {
      const code =
        typeof item.error_code === 'string' ? item.error_code : `DRS.status.${String(item.status)}`;
      const message =
        typeof item.error_msg === 'string' ? item.error_msg : `status is ${String(item.status)}`;
      outcomes.set(job.jobId, {
        ok: false,
        httpStatus: response.status,
        errorCode: code,
        errorMessage: `${call} answered 200 but job ${job.jobId} failed: ${code}: ${message}`,
        attempts: response.attempts,
      });
    } else {
      outcomes.set(job.jobId, succeeded(response));
    }
  }
  return outcomes;
}

/**
 * Ends a DRS job for good: `POST /v5/{project_id}/jobs/{job_id}/stop` (seed 002). The caller
 * must have checked `allowStop`.
 */
export async function drsStop(
  ctx: UpstreamContext,
  account: AccountRef,
  jobId: string,
  force: boolean,
): Promise<CallOutcome> {
  const call = 'POST /v5/{project_id}/jobs/{job_id}/stop';
  const response = await authorizedCall(ctx, account, {
    service: 'drs',
    method: 'POST',
    path: `/v5/${encodeURIComponent(account.config.projectId)}/jobs/${encodeURIComponent(jobId)}/stop`,
    call,
    changesState: true,
    body: { is_force_stop: force },
  });
  const body = (response.body ?? {}) as Record<string, unknown>;
  if (response.status !== 200 || upstreamError(body))
    return failed(call, response, { message: 'request refused' });
  if (body.status !== 'success') {
    return failed(call, response, {
      code: `DRS.status.${String(body.status)}`,
      message: `status is ${String(body.status)}`,
    });
  }
  return succeeded(response);
}

/** DRS answers status for up to 100 jobs in one call. */
export const DRS_STATUS_LIMIT = 100;

/**
 * Reads the status of up to 100 jobs of one account: `POST /v3/{project_id}/jobs/batch-status`,
 * split back per job (`results[i].status`; a missing job carries its own `error_code`).
 */
export async function drsStatuses(
  ctx: UpstreamContext,
  account: AccountRef,
  jobIds: readonly string[],
): Promise<Map<string, StatusRead>> {
  if (jobIds.length === 0 || jobIds.length > DRS_STATUS_LIMIT) {
    throw new RangeError(`a DRS status query holds 1 to ${DRS_STATUS_LIMIT} jobs, got ${jobIds.length}`);
  }
  const call = 'POST /v3/{project_id}/jobs/batch-status';
  const response = await authorizedCall(ctx, account, {
    service: 'drs',
    method: 'POST',
    path: `/v3/${encodeURIComponent(account.config.projectId)}/jobs/batch-status`,
    call,
    body: { jobs: jobIds },
  });
  const reads = new Map<string, StatusRead>();
  if (response.status !== 200 || upstreamError(response.body)) {
    const read = unreadable(failed(call, response, { message: 'request refused' }));
    for (const id of jobIds) reads.set(id, read);
    return reads;
  }
  const results = (response.body as { results?: unknown } | undefined)?.results;
  const items = Array.isArray(results) ? (results as Record<string, unknown>[]) : [];
  for (const id of jobIds) {
    const item = items.find((r) => r?.id === id);
    if (item && typeof item.error_code === 'string') {
      reads.set(id, {
        observation: null,
        error: {
          code: item.error_code,
          message: `${call}: job ${id}: ${String(item.error_msg ?? item.error_code)}`,
        },
      });
    } else if (item && typeof item.status === 'string') {
      reads.set(id, { observation: drsJobObservation(item.status) });
    } else {
      reads.set(id, {
        observation: null,
        error: {
          code: ErrorCode.noResult,
          message: `${call} answered 200 without a status for job ${id}`,
        },
      });
    }
  }
  return reads;
}
