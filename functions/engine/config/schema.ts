import { codes as currencyCodes } from 'currency-codes';
import * as z from 'zod';
import { compileCron } from '../calendar/cron.ts';
import { checkSkipDate } from '../calendar/skip-dates.ts';
import { compileWindow } from '../calendar/window.ts';
import { closestTimeZone, isValidTimeZone } from '../calendar/zone.ts';
import { DRS_JOB_ID, DRS_JOB_ID_RULE } from '../ids.ts';
import { ACTIONS } from '../kinds.ts';
import { notificationsSchema } from './notifications.ts';

/**
 * The one schema of the schedule config. Structure and per-field syntax live here; rules that
 * relate fields to each other (references, kinds, cycles) live in `validate.ts`, because zod
 * skips object-level refinements once a child has failed and we report every problem at once.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const nameMessage = 'names use letters, digits, ".", "_" and "-", start with a letter or digit, at most 128';

const name = z.string().regex(NAME, nameMessage);

function syntax(check: (text: string) => void) {
  return (text: string, ctx: z.RefinementCtx) => {
    try {
      check(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  };
}

const timezone = z
  .string()
  .superRefine(
    syntax((zone) => {
      if (!isValidTimeZone(zone)) {
        const near = closestTimeZone(zone);
        throw new Error(
          `${JSON.stringify(zone)} is not an IANA time zone (${near ? `did you mean "${near}"?` : 'e.g. "Europe/Berlin"'})`,
        );
      }
    }),
  )
  .describe('IANA time zone, e.g. "Asia/Shanghai"');

const skipDates = z
  .array(z.string().superRefine(syntax(checkSkipDate)))
  .describe('Local dates on which nothing fires: "YYYY-MM-DD", or "MM-DD" for every year');

const calendarDate = z.string().superRefine(syntax(checkSkipDate));

const calendarData = z
  .strictObject({
    source: z.string(),
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    until: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    holidays: z.record(z.string().regex(/^\d{4}-\d{2}-\d{2}$/), z.string()),
    workdays: z.record(z.string().regex(/^\d{4}-\d{2}-\d{2}$/), z.string()),
  })
  .describe(
    'Written by `cdk deploy` and `nightshift config push`: the dates resolved from the holiday libraries, which the Lambdas read. Do not write it; the CLI resolves it again.',
  );

const calendar = z
  .strictObject({
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code in capitals, e.g. "CN", "DE", "US"')
      .describe('ISO 3166-1 alpha-2 country code, e.g. "CN", "DE", "US"'),
    state: z
      .string()
      .regex(/^[A-Z0-9]{1,3}$/, 'must be a region code such as "BY" (Bavaria) or "CA" (California)')
      .optional()
      .describe('Region code within the country, e.g. "BY" for Bavaria'),
    extraHolidays: z
      .array(calendarDate)
      .optional()
      .describe('More days off: "YYYY-MM-DD", or "MM-DD" for every year'),
    extraWorkdays: z
      .array(calendarDate)
      .optional()
      .describe('Working days the data does not know (or holidays you work): "YYYY-MM-DD" or "MM-DD"'),
    resolved: calendarData.optional(),
  })
  .describe(
    'A public-holiday calendar: holidays from date-holidays (chinese-days for CN, with make-up working days)',
  );

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const account = z
  .strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2,}(-[a-z0-9]+)+$/, 'must be a Huawei Cloud region id such as "cn-north-4"'),
    projectId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be the project id (letters and digits)'),
    secret: z.string().min(1).describe('Secrets Manager name or ARN; locally a key of the --secrets file'),
    endpoint: url.optional().describe('One base URL for every service of this account, IAM included'),
    endpoints: z
      .strictObject({ drs: url.optional(), vias: url.optional(), cpts: url.optional(), iam: url.optional() })
      .optional()
      .describe('Per-service base URLs; win over `endpoint`'),
  })
  .describe('A Huawei Cloud project and the secret holding its access key, IAM credentials or token');

const reconcileMode = z
  .enum(['transitions', 'enforce'])
  .describe(
    '"transitions": act at edges until the state is reached, then leave manual changes alone; "enforce": also correct drift every enforceEveryMinutes',
  );
const enforceEveryMinutes = z
  .int()
  .min(1)
  .max(1440)
  .describe('With reconcile "enforce": how often to check for drift (default 15)');

/** The codes of ISO 4217 (list one, as the pinned `currency-codes` carries it): the same everywhere. */
const CURRENCY_CODES: ReadonlySet<string> = new Set(currencyCodes());

const cost = z
  .strictObject({
    perHour: z
      .number()
      .nonnegative('must be zero or more')
      .max(1_000_000_000)
      .describe('What the target costs per hour while it runs, e.g. 1.5'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, {
        error: 'must be an ISO 4217 currency code in capitals, e.g. "CNY", "EUR", "USD"',
        abort: true,
      })
      // Three capitals are not yet a currency: "RMB" (for CNY) would be totalled apart from CNY.
      .refine((code) => CURRENCY_CODES.has(code), {
        error: (issue) =>
          `"${String(issue.input)}" is not an ISO 4217 currency code, e.g. "CNY" (the yuan, not "RMB"), "EUR", "USD"`,
      })
      .describe('ISO 4217 currency code, e.g. "CNY"'),
  })
  .describe('What the target costs while running: `nightshift savings` reports the cost avoided');

const targetBase = {
  account: name,
  description: z.string().optional(),
  cost: cost.optional(),
  reconcile: reconcileMode.optional(),
  enforceEveryMinutes: enforceEveryMinutes.optional(),
};

const target = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ ...targetBase, kind: z.literal('vias-task'), taskId: z.string().min(1) }),
    z.strictObject({ ...targetBase, kind: z.literal('vias-batch-task'), batchTaskId: z.string().min(1) }),
    z.strictObject({
      ...targetBase,
      kind: z.literal('drs-job'),
      jobId: z.string().regex(DRS_JOB_ID, DRS_JOB_ID_RULE),
      pauseMode: z
        .enum(['target', 'all'])
        .default('target')
        .describe('"target" stops replay only; "all" also stops log capture'),
      allowStop: z
        .boolean()
        .default(false)
        .describe('Must be true before any stop: a DRS stop ends the job for good'),
      forceStop: z.boolean().default(false),
    }),
    z.strictObject({
      ...targetBase,
      kind: z.literal('cpts-task'),
      testSuiteId: z.int().min(0).max(2147483647),
      taskId: z.int().min(0).max(2147483647),
      clusterType: z.enum(['shared-cluster-internet', 'private-cluster']).default('shared-cluster-internet'),
      clusterId: z.int().min(-1).max(2147483647).default(0),
      enterpriseProjectId: z.string().max(64).optional(),
    }),
  ],
  { error: 'kind must be one of "vias-task", "vias-batch-task", "drs-job", "cpts-task"' },
);

const action = z.enum(ACTIONS as [string, ...string[]], { error: `must be one of ${ACTIONS.join(', ')}` });

const cronAction = z.strictObject({
  do: action,
  cron: z
    .string()
    .superRefine(syntax((text) => void compileCron(text)))
    .describe('Five-field cron in local time; the day of week may be "workdays" (with a calendar)'),
  skipDates: skipDates.optional(),
});

const schedule = z.strictObject({
  id: name,
  description: z.string().optional(),
  targets: z.array(name).min(1, 'must name at least one target or group'),
  timezone: timezone.optional(),
  enabled: z.boolean().default(true),
  skipDates: skipDates.optional(),
  calendar: name
    .optional()
    .describe('A calendar of `calendars`: its public holidays are skipped, and it defines "workdays"'),
  actions: z.array(cronAction).min(1, 'must hold at least one action').optional(),
  window: z
    .string()
    .superRefine(syntax((text) => void compileWindow(text)))
    .optional()
    .describe(
      '"DAYS HH:MM-HH:MM" in local time, e.g. "Mon-Fri 08:00-20:00" or "workdays 09:00-19:00" (with a calendar)',
    ),
  open: action.optional().describe('Action at the window start (default start; resume for drs-job)'),
  closed: action.optional().describe('Action at the window end (default stop; pause for drs-job)'),
  reconcile: reconcileMode.optional(),
  enforceEveryMinutes: enforceEveryMinutes.optional(),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1, { error: 'must be 1' }),
    timezone: timezone.optional(),
    accounts: z.record(name, account),
    targets: z.record(name, target),
    groups: z.record(name, z.array(name).min(1, 'must name at least one target or group')).default({}),
    calendars: z.record(name, calendar).optional().describe('Map of calendar name → public-holiday calendar'),
    schedules: z.array(schedule),
    overrides: z
      .strictObject({
        maxHours: z
          .int()
          .min(1)
          .max(8760)
          .default(168)
          .describe('The longest an override may last, from its start to its until (default 168, a week)'),
      })
      .default({ maxHours: 168 })
      .describe('Limits on overrides ("keep it running tonight")'),
    webhook: z
      .strictObject({ secret: z.string().min(1).default('nightshift/webhook') })
      .default({ secret: 'nightshift/webhook' })
      .describe('The secret whose value {"key": ...} signs HTTP API requests'),
    notifications: notificationsSchema.optional(),
  })
  .describe('Nightshift schedule config');

export type Config = z.output<typeof configSchema>;
export type AccountConfig = Config['accounts'][string];
export type TargetConfig = Config['targets'][string];
export type ScheduleConfig = Config['schedules'][number];
export type CalendarConfig = NonNullable<Config['calendars']>[string];
