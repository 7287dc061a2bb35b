import type { TargetConfig } from '../../engine/config/schema.ts';
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
} from '../call.ts';
import { cptsTaskObservation } from '../status-map.ts';

export const CPTS_SUCCESS = 'SVCSTG.CPTS.0000000';
const STATUS = { start: 9, stop: 2 } as const;

type CptsTarget = Extract<TargetConfig, { kind: 'cpts-task' }>;

/**
 * Starts (status 9) or stops (status 2) a CodeArts PerfTest task:
 * `POST /v1/{project_id}/test-suites/{test_suite_id}/tasks/{task_id}` (seed 004).
 * Success is HTTP 200 and `code == "SVCSTG.CPTS.0000000"`.
 */
export async function cptsTaskAction(
  ctx: UpstreamContext,
  account: AccountRef,
  target: CptsTarget,
  command: 'start' | 'stop',
): Promise<CallOutcome> {
  const call = `POST /v1/{project_id}/test-suites/{test_suite_id}/tasks/{task_id} (status ${STATUS[command]})`;
  const response = await authorizedCall(ctx, account, {
    service: 'cpts',
    method: 'POST',
    path: `/v1/${encodeURIComponent(account.config.projectId)}/test-suites/${target.testSuiteId}/tasks/${target.taskId}`,
    call,
    changesState: true,
    body: {
      cluster_id: target.clusterId,
      cluster_type: target.clusterType,
      without_package: 0,
      network_info: { network_type: 'internet' },
      status: STATUS[command],
      ...(target.enterpriseProjectId === undefined
        ? {}
        : { enterprise_project_id: target.enterpriseProjectId }),
    },
  });
  const body = (response.body ?? {}) as Record<string, unknown>;
  if (response.status !== 200) return failed(call, response, { message: 'request refused' });
  if (body.code !== CPTS_SUCCESS) {
    return failed(call, response, {
      code: typeof body.code === 'string' ? body.code : ErrorCode.badResponse,
      message: typeof body.message === 'string' ? body.message : 'no code in the answer',
    });
  }
  return succeeded(response);
}

/** Reads a CPTS task's `taskInfo.run_status`: `GET /v1/{project_id}/tasks/{task_id}`. */
export async function cptsTaskStatus(
  ctx: UpstreamContext,
  account: AccountRef,
  target: CptsTarget,
): Promise<StatusRead> {
  const call = 'GET /v1/{project_id}/tasks/{task_id}';
  const response = await authorizedCall(ctx, account, {
    service: 'cpts',
    method: 'GET',
    path: `/v1/${encodeURIComponent(account.config.projectId)}/tasks/${target.taskId}`,
    call,
  });
  const body = (response.body ?? {}) as {
    code?: unknown;
    message?: unknown;
    taskInfo?: { run_status?: unknown };
  };
  const runStatus = body.taskInfo?.run_status;
  if (response.status !== 200 || body.code !== CPTS_SUCCESS || typeof runStatus !== 'number') {
    return unreadable(
      failed(call, response, {
        code: typeof body.code === 'string' ? body.code : ErrorCode.badResponse,
        message: typeof body.message === 'string' ? body.message : 'no taskInfo.run_status in the answer',
      }),
    );
  }
  return { observation: cptsTaskObservation(runStatus) };
}
