import type * as z from 'zod';
import { compileCron } from '../calendar/cron.ts';
import type { TimeRule } from '../calendar/rule.ts';
import { compileWindow } from '../calendar/window.ts';
import { KIND_ACTIONS, kindSupports, TARGET_KINDS, type TargetKind } from '../kinds.ts';
import { didYouMean } from '../suggest.ts';
import { checkNotifications } from './notifications.ts';
import { type Config, configSchema } from './schema.ts';

export interface ConfigIssue {
  /** JSON path such as `schedules[1].actions[0].cron` */
  path: string;
  message: string;
  /** Where in the file (1-based), when the problem was found in config text. */
  line?: number;
  column?: number;
}

/**
 * One problem as a line of a report: `schedules[1].actions[0].cron: expected five fields ...
 * (line 12, column 9)`, the path and message first so a report reads as "where: what".
 */
export function issueLine(issue: ConfigIssue): string {
  const at = issue.line === undefined ? '' : ` (line ${issue.line}, column ${issue.column})`;
  return `${issue.path}: ${issue.message}${at}`;
}

export type ValidationResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], source?: string, options?: ErrorOptions) {
    const where = source ? ` in ${source}` : '';
    super(
      `${issues.length} problem${issues.length === 1 ? '' : 's'}${where}:\n${issues.map((i) => `  ${issueLine(i)}`).join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}

export interface ValidateOptions {
  /**
   * More checks of the raw document, reported together with the rest (the holiday libraries'
   * country check, which only the CLI and `cdk synth` load; the runtime's check that calendars
   * carry their dates).
   */
  extraChecks?: ((input: unknown) => ConfigIssue[]) | undefined;
}

/** Validates a parsed JSON document and reports every problem at once, each with its JSON path. */
export function validateConfig(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const issues: ConfigIssue[] = [];
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((issue) => fromZodIssue(issue, input)));
  issues.push(...crossCheck(input));
  if (options.extraChecks) issues.push(...options.extraChecks(input));
  const unique = inDocumentOrder(dedupe(issues), input);
  if (unique.length > 0 || !parsed.success) return { ok: false, issues: unique };
  return { ok: true, config: parsed.data };
}

/** Like {@link validateConfig} but throws a {@link ConfigError}. */
export function parseConfig(input: unknown, source?: string, options?: ValidateOptions): Config {
  const result = validateConfig(input, options);
  if (!result.ok) throw new ConfigError(result.issues, source);
  return result.config;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

function fromZodIssue(issue: z.core.$ZodIssue, input: unknown): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    // "skipDate" → skipDates, "jobid" → jobId: the fields this object may have, as candidates.
    const known = fieldsAt(configSchema, input, issue.path);
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: `unknown field "${key}"${didYouMean(key, known)}`,
    }));
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return [{ path: formatPath(issue.path), message: 'is required' }];
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/**
 * The field names the schema allows for the object at `path` of the document, following the
 * document through records, arrays and the target kinds (a `drs-job` has `jobId`).
 */
function fieldsAt(schema: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: zod's definitions, read to walk the schema
  let def = (schema as any)._zod.def;
  let value = input;
  const unwrap = () => {
    while (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault'
    )
      def = def.innerType._zod.def;
    if (def.type === 'union' && def.discriminator !== undefined) {
      const tag = recordOf(value)[def.discriminator];
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const option = def.options.find((o: any) =>
        o._zod.def.shape?.[def.discriminator]?._zod.def.values?.includes(tag),
      );
      if (option) def = option._zod.def;
    }
  };
  unwrap();
  for (const key of path) {
    if (def.type === 'object') def = def.shape[key as string]?._zod.def;
    else if (def.type === 'record') def = def.valueType._zod.def;
    else if (def.type === 'array') def = def.element._zod.def;
    else return [];
    if (!def) return [];
    value =
      isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    unwrap();
  }
  return def.type === 'object' ? Object.keys(def.shape) : [];
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Sorts issues in the order their places appear in the document, so a report reads top to
 * bottom whatever check found each problem. Unknown places (a missing field) sort with their
 * parent; ties keep the order they were found in.
 */
function inDocumentOrder(issues: ConfigIssue[], input: unknown): ConfigIssue[] {
  if (issues.length < 2) return issues;
  const order = new Map<string, number>();
  const walk = (value: unknown, path: PropertyKey[]) => {
    order.set(formatPath(path), order.size);
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    } else if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    }
  };
  walk(input, []);
  const rank = (path: string): number => {
    for (let p = path; ; ) {
      const found = order.get(p);
      if (found !== undefined) return found;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return Number.MAX_SAFE_INTEGER;
      p = p.slice(0, cut);
    }
  };
  return issues
    .map((issue, i) => ({ issue, i, rank: rank(issue.path) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.issue);
}

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const recordOf = (value: unknown): Json => (isRecord(value) ? value : {});
const arrayOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const hasOwn = (object: Json, key: string): boolean => Object.hasOwn(object, key);

/**
 * Checks that relate fields to each other. Works on the raw document, tolerating any shape, so
 * that these problems are reported together with the structural ones.
 */
function crossCheck(input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: PropertyKey[], message: string) => issues.push({ path: formatPath(path), message });
  const root = recordOf(input);
  const accounts = recordOf(root.accounts);
  const targets = recordOf(root.targets);
  const groups = recordOf(root.groups);

  for (const [targetName, target] of Object.entries(targets)) {
    const account = recordOf(target).account;
    if (typeof account === 'string' && !hasOwn(accounts, account)) {
      add(['targets', targetName, 'account'], `unknown account "${account}"${suggest(account, accounts)}`);
    }
  }

  for (const [groupName, members] of Object.entries(groups)) {
    if (hasOwn(targets, groupName)) {
      add(['groups', groupName], `"${groupName}" is both a target and a group; names must be unique`);
    }
    arrayOf(members).forEach((member, i) => {
      if (typeof member === 'string' && !hasOwn(targets, member) && !hasOwn(groups, member)) {
        add(
          ['groups', groupName, i],
          `unknown target or group "${member}"${suggest(member, targets, groups)}`,
        );
      }
    });
  }
  for (const cycle of findGroupCycles(groups)) {
    add(['groups', cycle[0]!], `groups form a cycle: ${cycle.join(' -> ')}`);
  }

  const calendars = recordOf(root.calendars);
  for (const [calendarName, raw] of Object.entries(calendars)) {
    const calendar = recordOf(raw);
    const holidays = arrayOf(calendar.extraHolidays).filter(isString);
    arrayOf(calendar.extraWorkdays).forEach((date, i) => {
      if (!isString(date)) return;
      const clash = holidays.find((h) => sameDay(h, date));
      if (clash !== undefined)
        add(
          ['calendars', calendarName, 'extraWorkdays', i],
          `"${date}" is also in extraHolidays ("${clash}"); a day is either a holiday or a working day`,
        );
    });
  }

  const kindOf = (targetName: string): TargetKind | undefined => {
    const kind = recordOf(targets[targetName]).kind;
    return TARGET_KINDS.includes(kind as TargetKind) ? (kind as TargetKind) : undefined;
  };
  const seenIds = new Map<string, number>();
  arrayOf(root.schedules).forEach((raw, s) => {
    const schedule = recordOf(raw);
    const at = (...rest: PropertyKey[]) => ['schedules', s, ...rest];
    if (typeof schedule.id === 'string') {
      const first = seenIds.get(schedule.id);
      if (first !== undefined)
        add(at('id'), `duplicate schedule id "${schedule.id}" (also schedules[${first}])`);
      else seenIds.set(schedule.id, s);
    }
    const hasActions = schedule.actions !== undefined;
    const hasWindow = schedule.window !== undefined;
    if (hasActions && hasWindow) add(at(), 'has both "actions" and "window"; use one');
    if (!hasActions && !hasWindow && isRecord(raw)) add(at(), 'needs either "actions" or "window"');
    for (const key of ['open', 'closed'] as const) {
      if (schedule[key] !== undefined && !hasWindow)
        add(at(key), `"${key}" applies only to a "window" schedule`);
    }

    const calendar = schedule.calendar;
    if (typeof calendar === 'string' && !hasOwn(calendars, calendar)) {
      add(at('calendar'), `unknown calendar "${calendar}"${suggest(calendar, calendars)}`);
    }
    if (calendar === undefined) {
      const needsCalendar = `"workdays" needs a calendar: set "calendar" on the schedule (see "calendars")`;
      if (
        typeof schedule.window === 'string' &&
        usesWorkdays(() => compileWindow(schedule.window as string).open)
      )
        add(at('window'), needsCalendar);
      arrayOf(schedule.actions).forEach((a, i) => {
        const cron = recordOf(a).cron;
        if (typeof cron === 'string' && usesWorkdays(() => compileCron(cron)))
          add(at('actions', i, 'cron'), needsCalendar);
      });
    }

    arrayOf(schedule.targets).forEach((member, i) => {
      if (typeof member === 'string' && !hasOwn(targets, member) && !hasOwn(groups, member)) {
        add(at('targets', i), `unknown target or group "${member}"${suggest(member, targets, groups)}`);
      }
    });
    const names = expandTargetNames(arrayOf(schedule.targets).filter(isString), targets, groups);

    const checkAction = (action: unknown, path: PropertyKey[]) => {
      if (typeof action !== 'string') return;
      for (const targetName of names) {
        const kind = kindOf(targetName);
        if (kind === undefined) continue;
        const problem = actionProblem(targetName, kind, action, recordOf(targets[targetName]));
        if (problem) add(path, problem);
      }
    };
    arrayOf(schedule.actions).forEach((a, i) => void checkAction(recordOf(a).do, at('actions', i, 'do')));
    if (hasWindow) {
      // Without an explicit open/closed each target gets its own kind's default, always valid.
      for (const key of ['open', 'closed'] as const) checkAction(schedule[key], at(key));
    }
  });
  checkNotifications(root, add, suggest);
  return issues;
}

/**
 * Why a target may not take an action, or undefined when it may. Shared by config validation
 * and by on-demand requests.
 */
export function actionProblem(
  targetName: string,
  kind: TargetKind,
  action: string,
  target: Json,
): string | undefined {
  if (!kindSupports(kind, action)) {
    return `target "${targetName}" is a ${kind}, which has no action "${action}" (its actions: ${KIND_ACTIONS[kind].join(', ')})`;
  }
  if (kind === 'drs-job' && action === 'stop' && target.allowStop !== true) {
    return `"stop" ends DRS job "${targetName}" for good; set targets.${targetName}.allowStop to true to allow it`;
  }
  return undefined;
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** Whether a rule names `workdays`; a rule that does not compile is reported elsewhere. */
function usesWorkdays(compile: () => TimeRule): boolean {
  try {
    return compile().usesWorkdays === true;
  } catch {
    return false;
  }
}

/** Two calendar dates name the same day: equal, or one is the `MM-DD` of the other every year. */
const sameDay = (a: string, b: string): boolean => a === b || a.slice(-5) === b || b.slice(-5) === a;

/**
 * Expands target and group names in the order they are listed, depth first, each target once.
 * Unknown names and cycles are skipped (validation reports them).
 */
export function expandTargetNames(
  names: readonly string[],
  targets: Readonly<Record<string, unknown>>,
  groups: Readonly<Record<string, unknown>>,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visiting = new Set<string>();
  const visit = (entry: string) => {
    if (Object.hasOwn(targets, entry)) {
      if (!seen.has(entry)) {
        seen.add(entry);
        out.push(entry);
      }
    } else if (Object.hasOwn(groups, entry) && !visiting.has(entry)) {
      visiting.add(entry);
      for (const member of arrayOf(groups[entry])) if (isString(member)) visit(member);
      visiting.delete(entry);
    }
  };
  for (const entry of names) visit(entry);
  return out;
}

function findGroupCycles(groups: Json): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (group: string) => {
    state.set(group, 'visiting');
    stack.push(group);
    for (const member of arrayOf(groups[group])) {
      if (!isString(member) || !hasOwn(groups, member)) continue;
      const seen = state.get(member);
      if (seen === 'visiting') cycles.push([...stack.slice(stack.indexOf(member)), member]);
      else if (seen === undefined) visit(member);
    }
    stack.pop();
    state.set(group, 'done');
  };
  for (const group of Object.keys(groups)) if (!state.has(group)) visit(group);
  return cycles;
}

function suggest(name: string, ...pools: Json[]): string {
  return didYouMean(
    name,
    pools.flatMap((pool) => Object.keys(pool)),
  );
}

export type { Config };
