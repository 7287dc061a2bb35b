import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { launchChromium } from '../helpers/browser.ts';
import { runCli } from '../helpers/cli.ts';
import { baseTargets } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

/**
 * The page in a real browser (Debian's Chromium through playwright-core), against a real `serve`
 * process on the simulator, its clock 120 times real time from Friday 26 March 2027 18:20 UTC
 * (19:20 in Berlin, where office hours end at 20:00; Sunday is the 23-hour day of the change to
 * summer time). The override is made from the form before 19:00 UTC, and the tick must honour it.
 */

/** What the callbacks run inside the page see of it (the tests are type-checked without the DOM lib). */
declare const document: { activeElement: { id: string; textContent: string | null } | null };
declare const window: { scrollY: number; scrollTo(x: number, y: number): void };

const START = '2027-03-26T18:20:00Z';
const SPEED = 120;
const WEBHOOK_KEY = 'browser-test-webhook-key-0123456789';
/** Screenshots land here (git-ignored); NIGHTSHIFT_README_SCREENSHOT=1 also refreshes the README's. */
const OUTPUT = join(process.cwd(), 'test-output', 'page');
const README_PNG = join(process.cwd(), 'docs', 'images', 'page-week.png');
const ORDERS_JOB = baseTargets['orders-sync'].jobId;
const BILLING_JOB = baseTargets['billing-sync'].jobId;

describe('the page in Chromium against serve on the simulator, scaled clock', () => {
  let dir: string;
  let sim: HuaweiSimulator;
  let served: Served;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let signInLink: string;
  let overrideId: string;
  const problems: string[] = [];
  /** Pages the test opens to see them refused (401, 403): the browser logs their status as an error. */
  const refusals = new Set<string>();
  const clock = (() => {
    let realStart = Date.now();
    return {
      reset: () => {
        realStart = Date.now();
      },
      now: () => new Date(Date.parse(START) + (Date.now() - realStart) * SPEED),
    };
  })();

  /** Watches a page: console errors, uncaught errors and requests to any other origin fail the test. */
  const watch = (p: Page) => {
    p.on('console', (m) => {
      const refused =
        refusals.has(p.url()) &&
        /^Failed to load resource: the server responded with a status of 40[13]/.test(m.text());
      if (m.type() === 'error' && !refused) problems.push(`console error on ${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error on ${p.url()}: ${e.message}`));
    p.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith('data:'))
        problems.push(`request to another origin: ${url}`);
    });
    return p;
  };
  const newContext = async (options: { javaScriptEnabled?: boolean } = {}) => {
    const c = await browser.newContext({
      viewport: { width: 1360, height: 900 },
      timezoneId: 'America/New_York',
      locale: 'en-GB',
      ...options,
    });
    c.on('page', watch);
    return c;
  };
  /** A section as it looks on the page (the sticky header not over it): a clip of the whole page. */
  const shoot = async (p: Page, selector: string, file: string) => {
    await p.evaluate(() => window.scrollTo(0, 0));
    const box = await p.locator(selector).evaluate((e) => {
      const r = e.getBoundingClientRect();
      return { y: r.top + window.scrollY, height: r.height };
    });
    await p.screenshot({
      path: join(OUTPUT, file),
      fullPage: true,
      clip: { x: 0, y: Math.max(0, box.y - 12), width: 1360, height: box.height + 24 },
    });
  };
  const pausedJobs = () =>
    sim
      .requestsTo(/batch-pause-task$/, 'POST')
      .flatMap((r) => ((r.body as { jobs?: { job_id: string }[] }).jobs ?? []).map((j) => j.job_id));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-page-browser-'));
    sim = new HuaweiSimulator();
    const simUrl = await sim.start();
    sim.addToken(TOKEN, PROJECT);
    const document = {
      version: 1,
      timezone: 'Asia/Shanghai',
      accounts: {
        prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: simUrl },
      },
      targets: baseTargets,
      groups: { replication: ['orders-sync', 'billing-sync'] },
      // No official 2027 schedule is published yet: the test's CN holiday is an extra one.
      calendars: { cn: { country: 'CN', extraHolidays: ['2027-03-26'] } },
      schedules: [
        {
          id: 'office-hours',
          targets: ['replication'],
          timezone: 'Europe/Berlin',
          window: 'Mon-Fri 08:00-20:00',
          skipDates: ['12-25'],
        },
        { id: 'cn-office', targets: ['face-search'], window: 'workdays 09:00-18:00', calendar: 'cn' },
        {
          id: 'nightly-load-test',
          targets: ['load-test'],
          actions: [
            { do: 'start', cron: '0 1 * * *' },
            { do: 'stop', cron: '0 5 * * *' },
          ],
        },
        { id: 'weekend-batch', targets: ['night-batch'], window: 'Sat-Sun 22:00-06:00' },
      ],
    };
    const { parseConfig } = await import('../../functions/engine/config/validate.ts');
    sim.seed(parseConfig(document));
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(document));
    writeFileSync(
      join(dir, 'secrets.json'),
      JSON.stringify({ 'nightshift/prod': { token: TOKEN }, 'nightshift/webhook': { key: WEBHOOK_KEY } }),
    );
    const [launched] = await Promise.all([
      launchChromium(),
      (async () => {
        clock.reset();
        served = await spawnServe(
          ['--port', '0', '--config', join(dir, 'schedule.json'), '--state', join(dir, 'state')],
          {
            NIGHTSHIFT_SECRETS_FILE: join(dir, 'secrets.json'),
            NIGHTSHIFT_CLOCK_START: START,
            NIGHTSHIFT_CLOCK_SPEED: String(SPEED),
          },
        );
      })(),
    ]);
    browser = launched;
    origin = served.url;
    signInLink = (await served.waitFor(/\n {2}(http:\/\/\S+\/signin\?token=\S+)\n/))[1]!;
    context = await newContext();
    page = await context.newPage();
    mkdirSync(OUTPUT, { recursive: true });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop('SIGKILL');
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with the link serve printed, and creates an override from the form with the keyboard alone', async () => {
    expect(signInLink.startsWith(`${origin}/signin?token=`)).toBe(true);
    await page.goto(signInLink);
    await expect(page.getByRole('heading', { name: 'Sign in to Nightshift' }).isVisible()).resolves.toBe(
      true,
    );
    // The button takes the focus: Enter signs in.
    await page.waitForFunction(() => document.activeElement?.textContent === 'Sign in');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${origin}/`);
    expect(await page.getByRole('heading', { name: /^Week of Mon 22 Mar 2027$/ }).count()).toBe(1);
    const cookie = (await context.cookies()).find((c) => c.name === 'nightshift_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });

    // The link is used up: in another browser it signs nobody in, and nothing can be changed there.
    const stranger = await newContext();
    const used = await stranger.newPage();
    refusals.add(signInLink);
    await used.goto(signInLink);
    expect(await used.locator('main').textContent()).toContain('This sign-in link was already used');
    expect(await used.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    const form = { targets: 'billing-sync', state: 'running', until: '23:00', reason: 'sneaky' };
    for (const answer of [
      await stranger.request.post(`${origin}/signin`, {
        form: { token: new URL(signInLink).searchParams.get('token')! },
        maxRedirects: 0,
      }),
      await stranger.request.post(`${origin}/overrides`, { form, maxRedirects: 0 }),
    ])
      expect(answer.status()).toBe(401);
    refusals.add(`${origin}/`);
    await used.goto(`${origin}/`);
    expect(await used.locator('main').textContent()).toContain('Sign in to Nightshift');
    expect(await used.locator('.week, #status, #history').count()).toBe(0);
    await stranger.close();
    refusals.delete(`${origin}/`);

    // Times in Berlin, where the office window is: then the keyboard only, from the top.
    await page.goto(`${origin}/?tz=Europe%2FBerlin`);
    let tabs = 0;
    do {
      await page.keyboard.press('Tab');
      tabs += 1;
    } while ((await page.evaluate(() => document.activeElement?.textContent)) !== 'Overrides' && tabs < 10);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ov-targets');
    await page.keyboard.type('orders');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ov-state');
    await page.keyboard.type('running');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ov-until');
    await page.keyboard.type('23:00');
    await page.keyboard.press('Tab');
    await page.keyboard.type('release tonight');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Create override');
    await page.keyboard.press('Enter');
    await page.waitForURL(/notice=created/);
    const notice = await page.getByRole('status').first().textContent();
    expect(notice).toMatch(
      /^Override ovr-[0-9a-f]{8} created: orders-sync held running until Fri 26 Mar 2027 23:00 Europe\/Berlin \(22:00 UTC\)/,
    );
    overrideId = /ovr-[0-9a-f]{8}/.exec(notice!)![0];
    // Made before the 20:00 (Berlin) edge, or the rest of this test proves nothing.
    expect(clock.now().getTime()).toBeLessThan(Date.parse('2027-03-26T18:59:00Z'));
    const row = page.locator(`#override-list tr[data-override="${overrideId}"]`);
    expect(await row.locator('td').allTextContents()).toEqual([
      'orders-sync',
      'running',
      expect.stringMatching(/^Fri 26 Mar 19:/),
      'Fri 26 Mar 23:00',
      'release tonight',
      expect.stringMatching(/@/),
      'Remove',
    ]);
    await shoot(page, '#overrides', 'overrides.png');
  });

  it('the week: every target, its bands, the 23-hour Sunday in Berlin, the CN holiday, the override and now', async () => {
    await page.goto(`${origin}/?tz=Europe%2FBerlin`);
    const days = await page
      .locator('.week .head g.day')
      .evaluateAll((gs) =>
        gs.map((g) => [
          g.getAttribute('data-date'),
          Number(g.getAttribute('data-hours')),
          g.getAttribute('data-width'),
        ]),
      );
    expect(days.map(([date, hours]) => [date, hours])).toEqual([
      ['2027-03-22', 24],
      ['2027-03-23', 24],
      ['2027-03-24', 24],
      ['2027-03-25', 24],
      ['2027-03-26', 24],
      ['2027-03-27', 24],
      ['2027-03-28', 23],
    ]);
    // Drawn to scale: the Sunday column is 23/24 of the others, and all seven fill the track.
    const widths = days.map(([, , width]) => Number.parseFloat(String(width)));
    expect(widths[6]! / widths[0]!).toBeCloseTo(23 / 24, 3);
    expect(widths.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 1);
    expect(
      await page
        .locator('.week .row[data-target]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-target'))),
    ).toEqual(['orders-sync', 'billing-sync', 'face-search', 'night-batch', 'load-test']);
    const bands = (target: string) =>
      page
        .locator(`.row[data-target="${target}"] rect[data-state]`)
        .evaluateAll((rects) =>
          rects.map(
            (r) =>
              `${r.getAttribute('data-state')} ${r.getAttribute('data-from')} ${r.getAttribute('data-to')}`,
          ),
        );
    // Berlin office hours, 07:00-19:00 UTC in winter time, the weekend paused.
    expect(await bands('billing-sync')).toEqual([
      'paused 2027-03-21T23:00Z 2027-03-22T07:00Z',
      'running 2027-03-22T07:00Z 2027-03-22T19:00Z',
      'paused 2027-03-22T19:00Z 2027-03-23T07:00Z',
      'running 2027-03-23T07:00Z 2027-03-23T19:00Z',
      'paused 2027-03-23T19:00Z 2027-03-24T07:00Z',
      'running 2027-03-24T07:00Z 2027-03-24T19:00Z',
      'paused 2027-03-24T19:00Z 2027-03-25T07:00Z',
      'running 2027-03-25T07:00Z 2027-03-25T19:00Z',
      'paused 2027-03-25T19:00Z 2027-03-26T07:00Z',
      'running 2027-03-26T07:00Z 2027-03-26T19:00Z',
      'paused 2027-03-26T19:00Z 2027-03-28T22:00Z',
    ]);
    // The CN holiday on Friday: cn-office does not open face-search (09:00-18:00 Shanghai).
    const face = await bands('face-search');
    expect(face).toContain('running 2027-03-25T01:00Z 2027-03-25T10:00Z');
    expect(face).toContain('stopped 2027-03-25T10:00Z 2027-03-28T22:00Z');
    expect(face.some((b) => b.includes('2027-03-26T01:00Z'))).toBe(false);
    expect(await page.locator('.day-notes').textContent()).toContain(
      'Fri 26 Mar: holiday extraHolidays (cn) (cn-office fired nothing then)',
    );
    expect(await page.locator('.week .head g.day[data-date="2027-03-26"] text').first().textContent()).toBe(
      'Fri 26 Mar ⚑',
    );
    // The override, shaded over the schedule from its start to its end (23:00 Berlin).
    const shade = page.locator(`.row[data-target="orders-sync"] g.ovr[data-override="${overrideId}"]`);
    expect(await shade.getAttribute('data-state')).toBe('running');
    expect(await shade.getAttribute('data-to')).toBe('2027-03-26T22:00Z');
    expect(await shade.locator('title').textContent()).toMatch(/until Fri 26 Mar 23:00: release tonight/);
    expect(await page.locator('.overlay line.now').count()).toBe(1);
    await shoot(page, '#week', 'week.png');
    if (process.env.NIGHTSHIFT_README_SCREENSHOT === '1') {
      mkdirSync(join(process.cwd(), 'docs', 'images'), { recursive: true });
      copyFileSync(join(OUTPUT, 'week.png'), README_PNG);
    }

    // Next week in UTC: summer time in Berlin, so office hours are 06:00-18:00 UTC.
    await page.goto(`${origin}/?tz=UTC`);
    await page.getByRole('link', { name: 'Next week →' }).click();
    await page.waitForURL(/week=2027-03-29/);
    expect(await bands('billing-sync')).toContain('running 2027-03-29T06:00Z 2027-03-29T18:00Z');
    // The zone switch offers the browser's own zone (the script adds it) and switches on change.
    await page.selectOption('#tz', 'America/New_York');
    await page.waitForURL(/tz=America%2FNew_York/);
    expect(await page.locator('.week').getAttribute('data-zone')).toBe('America/New_York');
    expect(await page.locator('#tz option:checked').textContent()).toBe('America/New_York (browser)');
  });

  it('a read-only session sees everything and changes nothing', async () => {
    const opened = await runCli(['open', '--read-only', '--url', origin, '--as', 'auditor', '--json'], {
      env: {
        NIGHTSHIFT_WEBHOOK_KEY: WEBHOOK_KEY,
        NIGHTSHIFT_CLOCK_START: clock.now().toISOString(),
        NIGHTSHIFT_CLOCK_SPEED: String(SPEED),
      },
    });
    expect(opened.code).toBe(0);
    const { url, scope } = JSON.parse(opened.stdout);
    expect(scope).toBe('read');
    const reader = await newContext();
    const look = await reader.newPage();
    await look.goto(url);
    await look.getByRole('button', { name: 'Sign in' }).click();
    await look.waitForURL(`${origin}/`);
    expect(await look.locator('.who').textContent()).toBe('auditor · read-only');
    expect(await look.getByRole('button', { name: 'Create override' }).count()).toBe(0);
    expect(await look.getByRole('button', { name: /^Remove/ }).count()).toBe(0);
    // Even a hand-made request with this session's CSRF token is refused.
    const csrf = await look.locator('input[name="csrf"]').first().inputValue();
    for (const [path, form] of [
      ['/overrides', { csrf, targets: 'billing-sync', state: 'running', until: '23:00', reason: 'sneaky' }],
      ['/overrides/remove', { csrf, id: overrideId }],
    ] as const) {
      const answer = await reader.request.post(`${origin}${path}`, { form, maxRedirects: 0 });
      expect(answer.status()).toBe(403);
      expect(await answer.text()).toContain('This session is read-only: nothing was changed.');
    }
    await look.reload();
    expect(
      await look
        .locator('#override-list tr[data-override]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-override'))),
    ).toEqual([overrideId]);
    await reader.close();
  });

  it('reads without JavaScript: sign-in, the week, the status and the history filter are plain HTML', async () => {
    const opened = await runCli(['open', '--url', origin, '--as', 'lynx', '--read-only'], {
      env: {
        NIGHTSHIFT_WEBHOOK_KEY: WEBHOOK_KEY,
        NIGHTSHIFT_CLOCK_START: clock.now().toISOString(),
        NIGHTSHIFT_CLOCK_SPEED: String(SPEED),
      },
    });
    const plain = await newContext({ javaScriptEnabled: false });
    const p = await plain.newPage();
    await p.goto(opened.stdout.trim());
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${origin}/`);
    expect(await p.locator('.week .row[data-target]').count()).toBe(5);
    expect(await p.locator('#status tbody tr').count()).toBe(5);
    // Without the script there is no browser zone to offer: the config's and UTC.
    expect(await p.locator('#tz option').allTextContents()).toEqual(['Asia/Shanghai (config)', 'UTC']);
    await p.selectOption('#h-target', 'billing-sync');
    await p.getByRole('button', { name: 'Filter' }).click();
    await p.waitForURL(/target=billing-sync/);
    expect(await p.locator('#h-target option:checked').textContent()).toBe('billing-sync');
    await plain.close();
  });

  it('the tick honours the override: at 20:00 in Berlin billing-sync is paused, orders-sync is not', async () => {
    await served.waitFor(/ office-hours: pause billing-sync ok/, 30_000);
    // Two ticks more, to be sure nothing else comes for orders-sync.
    await new Promise((resolve) => setTimeout(resolve, 2 * (60_000 / SPEED)));
    expect(pausedJobs()).toContain(BILLING_JOB);
    expect(pausedJobs()).not.toContain(ORDERS_JOB);
    await page.goto(`${origin}/?tz=Europe%2FBerlin#status`);
    const status = page.locator('#status tr[data-target="orders-sync"] td');
    expect(await status.nth(0).textContent()).toBe('running');
    expect(await status.nth(4).textContent()).toBe(overrideId);
    await shoot(page, '#status', 'status.png');
  });

  it('removing the override hands orders-sync back to its schedule: paused at the next tick; the history lists the outcomes', async () => {
    await page.goto(`${origin}/?tz=Europe%2FBerlin#overrides`);
    await page.getByRole('button', { name: `Remove ${overrideId}` }).click();
    await page.waitForURL(/notice=removed/);
    expect(await page.getByRole('status').first().textContent()).toBe(
      `Override ${overrideId} removed: the schedules decide again from the next tick.`,
    );
    expect(await page.locator('#override-list').textContent()).toContain('No active or future overrides');
    await served.waitFor(/pause orders-sync ok/, 15_000);
    expect(pausedJobs()).toContain(ORDERS_JOB);

    await page.goto(`${origin}/?tz=Europe%2FBerlin#history`);
    const rows = await page
      .locator('#history tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const pauses = rows.filter((r) => r[2] === 'pause');
    expect(pauses.map((r) => [r[1], r[3]])).toEqual([
      ['orders-sync', 'succeeded'],
      ['billing-sync', 'succeeded'],
    ]);
    // Filtered by target and result, from the form.
    await page.selectOption('#h-target', 'orders-sync');
    await page.selectOption('#h-result', 'succeeded');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/target=orders-sync/);
    const filtered = await page.locator('#history tbody tr td:nth-child(2)').allTextContents();
    expect(filtered.length).toBeGreaterThan(0);
    expect(new Set(filtered)).toEqual(new Set(['orders-sync']));
  });

  it('saw no console error, no uncaught error and no request to another origin', () => {
    expect(problems).toEqual([]);
  });
});
