import type { LocalDay } from './zone.ts';

/**
 * A compiled timing rule: the local minutes of the day at which it may fire, and a test of the
 * local day it belongs to. Splitting the two lets the planner bucket rules by minute of day once
 * and then test only the few rules whose minute has come.
 */
export interface TimeRule {
  readonly minutesOfDay: readonly number[];
  /**
   * How many days after the day it belongs to the rule fires: 1 for the close of an overnight
   * window (it belongs to the day the window opened), else 0.
   */
  readonly dayShift: 0 | 1;
  /**
   * Whether the rule fires on this local day (the day it belongs to, before `dayShift`). A rule
   * on `workdays` asks the schedule's calendar; without one, workdays are Monday to Friday.
   */
  matchesDay(day: LocalDay, calendar?: Workdays): boolean;
  /** True when the rule names the day word `workdays`, which needs the schedule's calendar. */
  readonly usesWorkdays?: boolean;
}

/** What `workdays` asks of a calendar. */
export interface Workdays {
  isWorkday(day: LocalDay): boolean;
}

/** `workdays` with no calendar: Monday to Friday. */
export const isWeekday = (day: LocalDay): boolean => day.weekday >= 1 && day.weekday <= 5;

/** The day word for a calendar's working days, in windows and in cron's day-of-week field. */
export const WORKDAYS = 'workdays';

export class CalendarSyntaxError extends Error {
  override readonly name = 'CalendarSyntaxError';
}
