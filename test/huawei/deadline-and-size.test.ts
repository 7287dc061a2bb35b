import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sign } from '../../functions/api/signature.ts';
import { execute } from '../../functions/engine/executor.ts';
import { handler } from '../../functions/handlers/api.ts';
import { type AwsRig, startAwsRig, WEBHOOK } from '../helpers/aws-env.ts';
import { httpApiEvent } from '../helpers/events.ts';
import { type Rig, startRig } from '../helpers/simulator.ts';

/** Real sleeps: the point is how long things take. */
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('an upstream call never outlives its caller', () => {
  let rig: Rig | undefined;
  let aws: AwsRig | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await rig?.close();
    await aws?.stop();
    rig = aws = undefined;
  });

  it('a hanging upstream: the call ends at the deadline with NIGHTSHIFT.DEADLINE, not after 4 × the timeout', async () => {
    rig = await startRig({ http: { timeoutMs: 10_000, sleep: realSleep } });
    rig.sim.script({ path: '/action/start' }, [{ kind: 'hang' }], { repeat: true });
    const started = Date.now();
    const [result] = await execute(rig.config, [{ target: 'face-search', action: 'start' }], {
      upstream: rig.upstream,
      deadline: started + 1_500,
    });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(result).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.DEADLINE' });
    expect(result!.errorMessage).toMatch(/deadline/);
  });

  it('429 with Retry-After beyond the deadline: the answer is returned at once, not waited for', async () => {
    rig = await startRig({ http: { sleep: realSleep } });
    rig.sim.script(
      { path: '/action/start' },
      [
        {
          kind: 'respond',
          status: 429,
          body: { error_code: 'APIGW.0308', error_msg: 'slow down' },
          headers: { 'retry-after': '20' },
        },
      ],
      { repeat: true },
    );
    const started = Date.now();
    const [result] = await execute(rig.config, [{ target: 'face-search', action: 'start' }], {
      upstream: rig.upstream,
      deadline: started + 3_000,
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(result).toMatchObject({ ok: false, httpStatus: 429, errorCode: 'APIGW.0308', attempts: 1 });
  });

  it('the api Lambda answers 504 deadline_exceeded before its own timeout when upstream hangs', async () => {
    aws = await startAwsRig([]);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    aws.sim.script({ path: '/action/start' }, [{ kind: 'hang' }], { repeat: true });
    const body = JSON.stringify({ action: 'start', targets: ['face-search'] });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const started = Date.now();
    const answer = await handler(
      httpApiEvent({
        method: 'POST',
        path: '/v1/actions',
        headers: {
          'content-type': 'application/json',
          'x-nightshift-timestamp': timestamp,
          'x-nightshift-signature': sign(WEBHOOK, timestamp, 'POST', '/v1/actions', body),
        },
        body,
      }),
      { getRemainingTimeInMillis: () => 3_000, awsRequestId: 'r-1' } as Context,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answer.statusCode).toBe(504);
    const parsed = JSON.parse(answer.body!);
    expect(parsed.error.code).toBe('deadline_exceeded');
    expect(parsed.results[0]).toMatchObject({ target: 'face-search', errorCode: 'NIGHTSHIFT.DEADLINE' });
  });
});

describe('upstream answers are size-capped', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('a body over the cap fails clearly and is not read whole', async () => {
    rig = await startRig({ http: { maxResponseBytes: 1024 * 1024 } });
    rig.sim.script({ path: '/action/start' }, [
      { kind: 'respond', status: 200, body: { pad: 'x'.repeat(3 * 1024 * 1024) } },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.BAD_RESPONSE', attempts: 1 });
    expect(result!.errorMessage).toMatch(/larger than 1048576 bytes/);
  });
});
