import { performance } from 'node:perf_hooks';
import { actionProblem } from '../engine/config/validate.ts';
import { ErrorCode } from '../engine/error-codes.ts';
import type { Outcome, PerformOptions, TargetRef, Upstream, UpstreamItem } from '../engine/executor.ts';
import type { StatusRead } from '../engine/states.ts';
import { redactOptional } from '../observability/redact.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { type CallOutcome, outcomeOfError, type UpstreamContext, unreadable } from './call.ts';
import { HttpClient, type HttpClientOptions } from './http.ts';
import { cptsTaskAction, cptsTaskStatus } from './services/cpts.ts';
import { DRS_BATCH_LIMIT, DRS_STATUS_LIMIT, drsBatch, drsStatuses, drsStop } from './services/drs.ts';
import { viasBatchTaskAction, viasTaskAction, viasTaskStatus } from './services/vias.ts';
import { TokenProvider } from './tokens.ts';

export interface HuaweiUpstreamOptions {
  secrets: SecretSource;
  http?: HttpClient | HttpClientOptions;
  now?: () => number;
}

/**
 * Carries actions out against Huawei Cloud. DRS pauses and resumes of one account go out in
 * batch calls of at most ten jobs; everything else is one call per target. All calls run
 * concurrently, bounded per account by the HTTP client.
 */
export class HuaweiUpstream implements Upstream {
  readonly http: HttpClient;
  readonly tokens: TokenProvider;
  private readonly ctx: UpstreamContext;

  constructor(options: HuaweiUpstreamOptions) {
    this.http = options.http instanceof HttpClient ? options.http : new HttpClient(options.http);
    this.tokens = new TokenProvider(options.secrets, this.http, options.now ? { now: options.now } : {});
    this.ctx = { http: this.http, tokens: this.tokens };
  }

  async perform(
    items: readonly UpstreamItem[],
    onOutcome?: (index: number, outcome: Outcome) => void,
    options: PerformOptions = {},
  ): Promise<Outcome[]> {
    // One context per batch of work, so each carries its caller's deadline and signal.
    const ctx = this.contextFor(options);
    const outcomes: Outcome[] = new Array(items.length);
    const report = (index: number, raw: Outcome) => {
      // Bodies are scrubbed as they are read; this also covers messages built from anything else.
      const outcome = scrub(raw);
      outcomes[index] = outcome;
      onOutcome?.(index, outcome);
    };
    const tasks: Promise<void>[] = [];
    const batches = new Map<string, number[]>();

    items.forEach((item, index) => {
      const { config, action } = item;
      if (config.kind === 'drs-job' && (action === 'pause' || action === 'resume')) {
        const key = `${item.account.name}\u0000${action}`;
        const group = batches.get(key) ?? [];
        group.push(index);
        batches.set(key, group);
      } else {
        const { admit, prepare, onSending } = options;
        const sending = onSending ? { sending: () => onSending([index]) } : {};
        const own: UpstreamContext = {
          ...ctx,
          ...(admit ? { admit: async () => ((await admit(index)) ? sending : false) } : {}),
          ...(prepare ? { prepare: () => prepare(index) } : {}),
        };
        tasks.push(this.timed(() => this.single(own, item)).then((o) => report(index, o)));
      }
    });

    for (const indexes of batches.values()) {
      for (let i = 0; i < indexes.length; i += DRS_BATCH_LIMIT) {
        const chunk = indexes.slice(i, i + DRS_BATCH_LIMIT);
        tasks.push(this.drsChunk(ctx, items, chunk, report, options));
      }
    }
    await Promise.all(tasks);
    return outcomes;
  }

  /**
   * Reads the status of each target: DRS jobs of one account in batch-status calls of up to 100,
   * the others one call each, all concurrently. VIAS batch tasks have no status query (`null`).
   */
  async observe(items: readonly TargetRef[], options: PerformOptions = {}): Promise<(StatusRead | null)[]> {
    const readNotSent: StatusRead = {
      observation: null,
      error: { code: ErrorCode.notSent, message: 'not read: called off just before it went out' },
    };
    const ctx = this.contextFor(options);
    const reads: (StatusRead | null)[] = new Array(items.length).fill(null);
    const settle = async (indexes: number[], read: () => Promise<StatusRead[]>) => {
      try {
        const got = await read();
        indexes.forEach((index, i) => {
          reads[index] = got[i]!;
        });
      } catch (error) {
        const failedRead = unreadable(outcomeOfError(error));
        for (const index of indexes) reads[index] = failedRead;
      }
    };
    const tasks: Promise<void>[] = [];
    const drsByAccount = new Map<string, number[]>();
    const { admit } = options;
    const own = (index: number): UpstreamContext =>
      admit ? { ...ctx, admitRead: async () => ((await admit(index)) ? {} : false) } : ctx;
    items.forEach((item, index) => {
      const { config, account } = item;
      switch (config.kind) {
        case 'vias-task':
          tasks.push(settle([index], async () => [await viasTaskStatus(own(index), account, config.taskId)]));
          break;
        case 'cpts-task':
          tasks.push(settle([index], async () => [await cptsTaskStatus(own(index), account, config)]));
          break;
        case 'drs-job':
          drsByAccount.set(account.name, [...(drsByAccount.get(account.name) ?? []), index]);
          break;
        case 'vias-batch-task':
          break;
      }
    });
    for (const indexes of drsByAccount.values()) {
      for (let i = 0; i < indexes.length; i += DRS_STATUS_LIMIT) {
        const slice = indexes.slice(i, i + DRS_STATUS_LIMIT);
        tasks.push(
          (async () => {
            // One batch read for many jobs: each job is admitted first, the refused ones left out.
            const verdicts = admit ? await Promise.all(slice.map((index) => admit(index))) : [];
            const chunk = admit ? slice.filter((_, j) => verdicts[j]) : slice;
            for (const index of slice.filter((i) => !chunk.includes(i))) reads[index] = readNotSent;
            if (chunk.length === 0) return;
            const first = items[chunk[0]!]!;
            const ids = chunk.map((index) => (items[index]!.config as { jobId: string }).jobId);
            await settle(chunk, async () => {
              const byJob = await drsStatuses(ctx, first.account, ids);
              return ids.map((id) => byJob.get(id)!);
            });
          })(),
        );
      }
    }
    await Promise.all(tasks);
    return reads;
  }

  private contextFor(options: PerformOptions): UpstreamContext {
    return {
      ...this.ctx,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async single(ctx: UpstreamContext, item: UpstreamItem): Promise<CallOutcome> {
    const { config, action, account } = item;
    switch (config.kind) {
      case 'vias-task':
        return viasTaskAction(ctx, account, config.taskId, action as 'start' | 'stop');
      case 'vias-batch-task':
        return viasBatchTaskAction(ctx, account, config.batchTaskId, action as 'start' | 'stop');
      case 'cpts-task':
        return cptsTaskAction(ctx, account, config, action as 'start' | 'stop');
      case 'drs-job':
        {
          // Checked here as well as in the engine: a DRS stop ends the job for good.
          const problem = actionProblem(item.target, config.kind, action, config);
          if (problem)
            return { ok: false, errorCode: ErrorCode.stopNotAllowed, errorMessage: problem, attempts: 0 };
        }
        return drsStop(ctx, account, config.jobId, config.forceStop);
    }
  }

  private async drsChunk(
    ctx: UpstreamContext,
    items: readonly UpstreamItem[],
    chunk: number[],
    report: (index: number, outcome: Outcome) => void,
    { admit, onSending }: Pick<PerformOptions, 'admit' | 'onSending'>,
  ): Promise<void> {
    const first = items[chunk[0]!]!;
    const jobs = chunk.map((i) => {
      const config = items[i]!.config as Extract<UpstreamItem['config'], { kind: 'drs-job' }>;
      return { jobId: config.jobId, pauseMode: config.pauseMode };
    });
    const started = performance.now();
    let byJob: Map<string, CallOutcome> | undefined;
    let error: CallOutcome | undefined;
    try {
      byJob = await drsBatch(
        ctx,
        first.account,
        first.action as 'pause' | 'resume',
        jobs,
        admit ? (i) => admit(chunk[i]!) : undefined,
        onSending ? (jobs) => onSending(jobs.map((i) => chunk[i]!)) : undefined,
      );
    } catch (e) {
      error = outcomeOfError(e);
    }
    const durationMs = Math.round(performance.now() - started);
    chunk.forEach((index, i) => {
      const outcome = error ?? byJob?.get(jobs[i]!.jobId) ?? outcomeOfError(new Error('no outcome for job'));
      report(index, { ...outcome, durationMs });
    });
  }

  private async timed(fn: () => Promise<CallOutcome>): Promise<Outcome> {
    const started = performance.now();
    let outcome: CallOutcome;
    try {
      outcome = await fn();
    } catch (error) {
      outcome = outcomeOfError(error);
    }
    return { ...outcome, durationMs: Math.round(performance.now() - started) };
  }
}

function scrub(outcome: Outcome): Outcome {
  const errorCode = redactOptional(outcome.errorCode);
  const errorMessage = redactOptional(outcome.errorMessage);
  return {
    ...outcome,
    ...(errorCode === undefined ? {} : { errorCode }),
    ...(errorMessage === undefined ? {} : { errorMessage }),
  };
}
