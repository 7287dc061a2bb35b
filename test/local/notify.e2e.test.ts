import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { rawConfig } from '../helpers/config.ts';
import { until } from '../helpers/entries.ts';
import { runNightshift, type Served, spawnServe } from '../helpers/process.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';
import { notificationsFor, SINK_KINDS, type SinkKind, startReceivers } from '../helpers/sink-receivers.ts';

/**
 * `serve` as users run it, against a simulator and the sink receivers in this process (so the
 * test can fail calls, take receivers down, and read what each received), on a scaled clock.
 */
async function world(options: {
  tasks: string[];
  schedules: Record<string, unknown>[];
  route?: { events?: string[] };
}) {
  const sim = new HuaweiSimulator();
  const simUrl = await sim.start();
  for (const t of options.tasks) sim.addViasTask(PROJECT, t, 'RUNNING');
  sim.addToken(TOKEN, PROJECT);
  const receivers = await startReceivers({ sentinel: 'SENTINEL' });
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-notify-e2e-'));
  const { notifications, secrets } = notificationsFor(receivers, options.route);
  const document = rawConfig(options.schedules as never, {
    timezone: 'UTC',
    accounts: {
      prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: simUrl },
    },
    targets: Object.fromEntries(
      options.tasks.map((t) => [t, { account: 'prod', kind: 'vias-task', taskId: t }]),
    ),
    groups: {},
    notifications,
  });
  const config = join(dir, 'schedule.json');
  writeFileSync(config, JSON.stringify(document));
  const secretsFile = join(dir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ 'nightshift/prod': { token: TOKEN }, ...secrets }));
  const state = join(dir, 'state');
  const history = (): { id: string; recordedAt: string; result: Record<string, unknown> }[] => {
    try {
      return readFileSync(join(state, 'history.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  };
  return {
    sim,
    receivers,
    dir,
    state,
    secrets,
    config,
    history,
    args: ['--port', '0', '--config', config, '--secrets', secretsFile, '--state', state],
    async stop() {
      await sim.stop();
      await receivers.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const stopFails = {
  kind: 'respond' as const,
  status: 400,
  body: { error_code: 'VIAS.40021001', error_msg: 'SIM: the task cannot be stopped now' },
};

/** Every file under a folder, with its text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, text: readFileSync(path, 'utf8') });
  }
  return out;
}

describe('notifications from serve, end to end', () => {
  const running: Served[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
    for (const step of cleanup.splice(0)) await step();
  });

  it('a failed stop reaches every routed sink within a minute; sinks failing their first deliveries get it once; no URL, token or secret anywhere', async () => {
    // Prepare: the window closes at 20:00, the stop fails; Slack and the webhook fail twice first.
    const w = await world({
      tasks: ['t1'],
      schedules: [{ id: 'office', targets: ['t1'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
    });
    cleanup.push(() => w.stop());
    w.sim.script({ method: 'PUT', path: '/action/stop' }, [stopFails]);
    w.receivers.slack.failNext = 2;
    w.receivers.webhook.failNext = 2;
    const speed = 30;
    // Act
    const served = await spawnServe(w.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T19:59:50Z',
      NIGHTSHIFT_CLOCK_SPEED: String(speed),
    });
    running.push(served);
    await served.waitFor(/notify {2}6 sinks: slack \(slack\), teams \(teams\), dingtalk \(dingtalk\)/);
    await until(() => w.history().some((e) => e.result.ok === false), 20_000, 'the failed stop');
    const failed = w.history().find((e) => e.result.ok === false)!;
    const stopCall = w.sim.requestsTo('/action/stop')[0]!;
    await until(
      () => SINK_KINDS.every((k) => w.receivers[k].accepted.length > 0),
      20_000,
      'a message at every sink',
    );
    // Assess: within a minute of the failed call (on the scaled clock) at the sinks that took it at once
    for (const kind of ['teams', 'dingtalk', 'feishu', 'wecom'] as SinkKind[]) {
      const first = w.receivers[kind].accepted[0]!;
      expect((first.at - stopCall.at) * speed).toBeLessThan(60_000);
      expect(first.text).toMatch(
        /FAILED stop t1: VIAS\.40021001 .*SIM: the task cannot be stopped now — at 2027-03-29 20:00 UTC, schedule office/,
      );
    }
    // ...and once at the sinks that failed first (after 1 and 2 minutes of backoff)
    expect(w.receivers.slack.refused).toHaveLength(2);
    expect(w.receivers.slack.accepted.filter((r) => r.text.includes('FAILED stop t1'))).toHaveLength(1);
    expect(w.receivers.webhook.refused).toHaveLength(2);
    expect(w.receivers.webhook.eventIds).toEqual([failed.id]);
    expect(w.receivers.webhook.accepted[0]!.body).toMatchObject({
      type: 'nightshift.action.failed',
      subject: 't1',
    });
    await served.waitFor(/notify: sent 1 event to webhook \(webhook\)/);
    expect(served.stdout()).toMatch(
      /notify: webhook \(webhook\) did not take 1 event: HTTP 502: bad gateway; next try at /,
    );

    // Sentinels: no URL, token or signing secret in stdout, stderr or any file of the state folder.
    await served.stop('SIGTERM');
    running.splice(0);
    const sentinels = Object.values(w.secrets).flatMap((s) => [
      s.url,
      new URL(s.url).pathname,
      ...[...new URL(s.url).searchParams.values()],
      ...(s.signSecret ? [s.signSecret] : []),
      ...(s.key ? [s.key] : []),
    ]);
    const places = [
      { path: 'stdout', text: served.stdout() },
      { path: 'stderr', text: served.stderr() },
      ...filesUnder(w.state),
    ];
    expect(places.length).toBeGreaterThan(5);
    for (const place of places)
      for (const sentinel of sentinels.filter((s) => s.includes('SENTINEL')))
        expect(place.text.includes(sentinel), `${sentinel} in ${place.path}`).toBe(false);
  }, 60_000);

  it('a burst of 100 failures is at most 2 messages per sink, naming every target', async () => {
    const tasks = Array.from({ length: 100 }, (_, i) => `task-${String(i).padStart(3, '0')}`);
    const w = await world({
      tasks,
      schedules: [{ id: 'office', targets: tasks, timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
    });
    cleanup.push(() => w.stop());
    w.sim.script({ method: 'PUT', path: '/action/stop' }, [stopFails], { repeat: true });
    const served = await spawnServe(w.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T19:59:55Z',
      NIGHTSHIFT_CLOCK_SPEED: '30',
    });
    running.push(served);
    await until(() => w.history().filter((e) => e.result.ok === false).length >= 100, 30_000, '100 failures');
    // The retries a minute later succeed: the burst is the only thing to tell.
    w.sim.clearScripts();
    const failures = w.history().filter((e) => e.result.ok === false);
    await until(
      () => failures.every((f) => w.receivers.webhook.eventIds.includes(f.id)),
      30_000,
      'every failure at the webhook',
    );
    await until(
      () =>
        SINK_KINDS.every((k) =>
          tasks.every((t) =>
            w.receivers[k].accepted.some((r) => r.text.includes(t) || r.raw.includes(`"${t}"`)),
          ),
        ),
      30_000,
      'every target named at every sink',
    );
    // Two more minutes on the scaled clock: nothing else comes.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    for (const kind of SINK_KINDS) expect(w.receivers[kind].accepted.length, kind).toBeLessThanOrEqual(2);
    expect([...w.receivers.webhook.eventIds].sort()).toEqual(failures.map((f) => f.id).sort());
  }, 90_000);

  it('receivers down for an hour do not slow the ticks; when they are back the backlog arrives, each event once', async () => {
    // Prepare: an edge every five minutes, every event routed, every receiver down.
    const w = await world({
      tasks: ['t1'],
      schedules: [
        {
          id: 'flip',
          targets: ['t1'],
          timezone: 'UTC',
          actions: [
            { do: 'stop', cron: '*/10 * * * *' },
            { do: 'start', cron: '5-59/10 * * * *' },
          ],
        },
      ],
      route: { events: ['*'] },
    });
    cleanup.push(() => w.stop());
    for (const kind of SINK_KINDS) w.receivers[kind].mode = kind === 'slack' ? 'hang' : 'down';
    const speed = 240;
    const served = await spawnServe(w.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T10:00:30Z',
      NIGHTSHIFT_CLOCK_SPEED: String(speed),
    });
    running.push(served);
    // Act: an hour on the scaled clock, the receivers down all along (the first call, at the first
    // tick, is the 10:00 stop caught up; then one edge every five minutes).
    await until(() => w.sim.requestsTo(/\/action\/(start|stop)$/).length >= 13, 45_000, 'an hour of edges');
    // Assess: each call came five scaled minutes after the one before, give or take less than a minute.
    const calls = w.sim.requestsTo(/\/action\/(start|stop)$/).slice(1, 13);
    for (let i = 1; i < calls.length; i++) {
      const gap = (calls[i]!.at - calls[i - 1]!.at) * speed;
      expect(Math.abs(gap - 5 * 60_000), `edge ${i}`).toBeLessThan(60_000);
    }
    for (const kind of SINK_KINDS) expect(w.receivers[kind].accepted).toEqual([]);
    // Back up: the backlog comes, in at most one message a minute, every outcome once.
    for (const kind of SINK_KINDS) w.receivers[kind].mode = 'ok';
    const outcomes = w.history().filter((e) => e.result.status === 'succeeded');
    expect(outcomes.length).toBeGreaterThanOrEqual(12);
    await until(
      () => outcomes.every((o) => w.receivers.webhook.eventIds.includes(o.id)),
      30_000,
      'the backlog at the webhook',
    );
    const ids = w.receivers.webhook.eventIds;
    expect(new Set(ids).size).toBe(ids.length);
    await until(() => w.receivers.slack.accepted.length > 0, 30_000, 'the backlog at Slack');
  }, 90_000);

  it('serve killed in the middle and started again: every failure reaches the webhook once, none twice', async () => {
    const tasks = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const w = await world({
      tasks,
      schedules: [{ id: 'office', targets: tasks, timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
    });
    cleanup.push(() => w.stop());
    // Every stop fails, again and again (retried after 1, 2, 4 ... minutes): a stream of failures.
    w.sim.script({ method: 'PUT', path: '/action/stop' }, [stopFails], { repeat: true });
    const speed = 30;
    const first = await spawnServe(w.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T19:59:55Z',
      NIGHTSHIFT_CLOCK_SPEED: String(speed),
    });
    running.push(first);
    await until(() => w.receivers.webhook.accepted.length >= 1, 20_000, 'a first delivery');
    await until(
      () => w.history().filter((e) => e.result.ok === false).length > 20,
      20_000,
      'the first retries',
    );
    // Act: killed, with some events delivered and others not yet; started again from there.
    first.child.kill('SIGKILL');
    await first.stop('SIGKILL');
    running.splice(0);
    const second = await spawnServe(w.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T20:02:30Z',
      NIGHTSHIFT_CLOCK_SPEED: String(speed),
    });
    running.push(second);
    await until(() => w.history().filter((e) => e.result.ok === false).length > 60, 30_000, 'more retries');
    w.sim.clearScripts();
    const failures = w.history().filter((e) => e.result.ok === false);
    // Assess
    await until(
      () => failures.every((f) => w.receivers.webhook.eventIds.includes(f.id)),
      30_000,
      'every failure at the webhook',
    );
    const ids = w.receivers.webhook.eventIds;
    expect(ids.length).toBe(new Set(ids).size);
    expect(w.receivers.webhook.accepted.length).toBeGreaterThan(1);
  }, 90_000);

  it('serve refuses to start when a sink’s secret is missing or malformed, naming it, never its value', async () => {
    const w = await world({ tasks: ['t1'], schedules: [] });
    cleanup.push(() => w.stop());
    const secretsFile = join(w.dir, 'broken-secrets.json');
    const { 'nightshift/sink-slack': _gone, ...rest } = w.secrets;
    writeFileSync(
      secretsFile,
      JSON.stringify({
        'nightshift/prod': { token: TOKEN },
        ...rest,
        'nightshift/sink-feishu': {
          url: w.secrets['nightshift/sink-feishu']!.url,
          signsecret: 'SENTINEL-typo',
        },
      }),
    );
    const result = await runNightshift([
      'serve',
      '--port',
      '0',
      '--config',
      w.config,
      '--secrets',
      secretsFile,
      '--state',
      w.state,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('2 notification sinks cannot be used:');
    expect(result.stderr).toContain(
      'notifications.sinks.slack.secret: sink "slack" (slack): secret "nightshift/sink-slack" is missing',
    );
    expect(result.stderr).toContain(
      'notifications.sinks.feishu.secret: sink "feishu" (feishu): secret "nightshift/sink-feishu" is malformed: unknown field "signsecret"',
    );
    expect(result.stderr + result.stdout).not.toContain('SENTINEL');
  });
});
