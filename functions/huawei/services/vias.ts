import { ErrorCode } from '../../engine/error-codes.ts';
import type { StatusRead } from '../../engine/states.ts';
import {
  type AccountRef,
  authorizedCall,
  type CallOutcome,
  failed,
  is2xx,
  succeeded,
  type UpstreamContext,
  unreadable,
} from '../call.ts';
import { viasTaskObservation } from '../status-map.ts';

export type ViasCommand = 'start' | 'stop';

/** Starts or stops a VIAS task: `PUT /v2/{project_id}/tasks/{task_id}/action/{command}` (seed 000). */
export async function viasTaskAction(
  ctx: UpstreamContext,
  account: AccountRef,
  taskId: string,
  command: ViasCommand,
): Promise<CallOutcome> {
  const call = `PUT /v2/{project_id}/tasks/{task_id}/action/${command}`;
  const response = await authorizedCall(ctx, account, {
    service: 'vias',
    method: 'PUT',
    path: `/v2/${enc(account.config.projectId)}/tasks/${enc(taskId)}/action/${command}`,
    call,
    changesState: true,
  });
  const body = (response.body ?? {}) as Record<string, unknown>;
  // The body is loosely specified: an error_code, or a status_code other than 200, is a failure.
  if (!is2xx(response.status) || body.error_code !== undefined) {
    return failed(call, response, { message: 'request refused' });
  }
  if (body.status_code !== undefined && body.status_code !== 200) {
    return failed(call, response, {
      code: `VIAS.status_code.${String(body.status_code)}`,
      message: String(body.status_msg ?? 'status_code is not 200'),
    });
  }
  return succeeded(response);
}

/**
 * Starts or stops a VIAS batch task: `PUT /v2/{project_id}/batch-tasks/{id}/action/{command}`
 * (seed 001). Success is HTTP 200 and `failed_count == 0`.
 */
export async function viasBatchTaskAction(
  ctx: UpstreamContext,
  account: AccountRef,
  batchTaskId: string,
  command: ViasCommand,
): Promise<CallOutcome> {
  const call = `PUT /v2/{project_id}/batch-tasks/{id}/action/${command}`;
  const response = await authorizedCall(ctx, account, {
    service: 'vias',
    method: 'PUT',
    path: `/v2/${enc(account.config.projectId)}/batch-tasks/${enc(batchTaskId)}/action/${command}`,
    call,
    changesState: true,
  });
  const body = (response.body ?? {}) as Record<string, unknown>;
  if (response.status !== 200) return failed(call, response, { message: 'request refused' });
  if (typeof body.failed_count !== 'number') {
    return failed(call, response, {
      code: ErrorCode.badResponse,
      message: 'the answer has no failed_count',
    });
  }
  if (body.failed_count > 0) {
    const errors = Array.isArray(body.error_list) ? body.error_list.map(String).join('; ') : '';
    return failed(call, response, {
      code: 'VIAS.BATCH_PARTIAL_FAILURE',
      message: `${body.failed_count} of ${String(body.total_count ?? '?')} tasks failed${errors ? `: ${errors}` : ''}`,
    });
  }
  return succeeded(response);
}

const enc = encodeURIComponent;

/** Reads a VIAS task's `state`: `GET /v2/{project_id}/tasks/{task_id}`. */
export async function viasTaskStatus(
  ctx: UpstreamContext,
  account: AccountRef,
  taskId: string,
): Promise<StatusRead> {
  const call = 'GET /v2/{project_id}/tasks/{task_id}';
  const response = await authorizedCall(ctx, account, {
    service: 'vias',
    method: 'GET',
    path: `/v2/${enc(account.config.projectId)}/tasks/${enc(taskId)}`,
    call,
  });
  const state = (response.body as { state?: unknown } | undefined)?.state;
  if (!is2xx(response.status) || typeof state !== 'string')
    return unreadable(failed(call, response, { message: 'no state in the answer' }));
  return { observation: viasTaskObservation(state) };
}
