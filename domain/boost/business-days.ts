/**
 * B7: business days (工作日) of mainland China and the due time of boost refunds.
 *
 * A date is a business day if the official calendar lists it as a working day (调休, e.g. a
 * Saturday), is not one if it lists it as a holiday, and otherwise if it is Monday–Friday. For a
 * year the calendar has no data for, weekends-only is used and the year is reported
 * (`calendar_missing`, the order is flagged for ops). All dates are Asia/Shanghai calendar dates.
 */
import { addDays, assertInstant, endOfShanghaiDayMs, isIsoDate, shanghaiDateOf, weekdayOf } from './calendar-date';
import { DEFAULT_BOOST_POLICY } from './policy';

/** The shape of `shared/data/cn-business-calendar.json` (other keys, such as `description`, are ignored). */
export interface BusinessCalendar {
  readonly years: Readonly<Record<string, CalendarYear>>;
}

export interface CalendarYear {
  readonly holidays: readonly string[]; // non-working days, even on a weekday
  readonly workdays: readonly string[]; // 调休: working days, even on a Saturday or Sunday
  readonly source?: string; // the official notice
}

/** A row of the calendar table ops can extend. */
export interface CalendarRow {
  readonly date: string; // YYYY-MM-DD
  readonly kind: 'holiday' | 'workday';
}

export type DayKind = 'holiday' | 'workday' | 'weekday' | 'weekend';

export interface DayInfo {
  readonly date: string;
  readonly businessDay: boolean;
  /** holiday / workday: listed in the calendar; weekday / weekend: not listed, by the day of the week. */
  readonly kind: DayKind;
  /** The calendar has no data for this date's year (weekends-only was used). */
  readonly calendarMissing: boolean;
}

/**
 * Builds a calendar from table rows. A year is "present" if any row falls in it or it is listed in
 * `years` (so ops can declare a year whose data is complete even with no rows at all).
 */
export function calendarFromRows(rows: readonly CalendarRow[], years: Iterable<string | number> = []): BusinessCalendar {
  const out: Record<string, { holidays: string[]; workdays: string[] }> = {};
  const yearEntry = (year: string) => (out[year] ??= { holidays: [], workdays: [] });
  for (const year of years) {
    const key = String(year);
    if (!/^\d{4}$/.test(key)) throw new RangeError(`not a year: ${key}`);
    yearEntry(key);
  }
  for (const row of rows) {
    if (!isIsoDate(row.date)) throw new RangeError(`calendar row: not a YYYY-MM-DD date: ${JSON.stringify(row.date)}`);
    const entry = yearEntry(row.date.slice(0, 4));
    if (row.kind === 'holiday') entry.holidays.push(row.date);
    else if (row.kind === 'workday') entry.workdays.push(row.date);
    else throw new RangeError(`calendar row ${row.date}: kind must be holiday or workday`);
  }
  for (const entry of Object.values(out)) {
    entry.holidays.sort();
    entry.workdays.sort();
  }
  return assertValidCalendar({ years: out });
}

/** The rows of a calendar (e.g. to seed the table from the JSON file), sorted by date. */
export function calendarRows(calendar: BusinessCalendar): CalendarRow[] {
  const rows: CalendarRow[] = [];
  for (const entry of Object.values(calendar.years)) {
    for (const date of entry.holidays) rows.push({ date, kind: 'holiday' });
    for (const date of entry.workdays) rows.push({ date, kind: 'workday' });
  }
  return rows.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/**
 * Validates an untrusted calendar document (the JSON file, an ops upload): every year key is
 * `YYYY`, every date a real `YYYY-MM-DD` in that year, and no date is both a holiday and a
 * workday. Throws RangeError with the first problem; returns the calendar typed.
 */
export function assertValidCalendar(document: unknown): BusinessCalendar {
  const years = (document as { years?: unknown } | null)?.years;
  if (typeof years !== 'object' || years === null || Array.isArray(years)) throw new RangeError('calendar: `years` must be an object');
  for (const [year, entry] of Object.entries(years as Record<string, unknown>)) {
    if (!/^\d{4}$/.test(year)) throw new RangeError(`calendar: year key ${JSON.stringify(year)} is not YYYY`);
    const { holidays, workdays } = (entry ?? {}) as { holidays?: unknown; workdays?: unknown };
    const seen = new Map<string, string>();
    for (const [listName, list] of [['holidays', holidays], ['workdays', workdays]] as const) {
      if (!Array.isArray(list)) throw new RangeError(`calendar ${year}: ${listName} must be an array`);
      for (const date of list as unknown[]) {
        if (!isIsoDate(date)) throw new RangeError(`calendar ${year}: ${JSON.stringify(date)} is not a YYYY-MM-DD date`);
        if (!date.startsWith(`${year}-`)) throw new RangeError(`calendar ${year}: ${date} is not in ${year}`);
        const other = seen.get(date);
        if (other) throw new RangeError(`calendar ${year}: ${date} is listed in ${other} and ${listName}`);
        seen.set(date, listName);
      }
    }
  }
  return document as BusinessCalendar;
}

/** B7: what kind of day `date` is. */
export function classifyDay(date: string, calendar: BusinessCalendar): DayInfo {
  if (!isIsoDate(date)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const year = Object.hasOwn(calendar.years, date.slice(0, 4)) ? calendar.years[date.slice(0, 4)] : undefined;
  if (year?.holidays.includes(date)) return { date, businessDay: false, kind: 'holiday', calendarMissing: false };
  if (year?.workdays.includes(date)) return { date, businessDay: true, kind: 'workday', calendarMissing: false };
  const weekday = weekdayOf(date);
  const weekend = weekday === 0 || weekday === 6;
  return { date, businessDay: !weekend, kind: weekend ? 'weekend' : 'weekday', calendarMissing: year === undefined };
}

/** B7: a listed holiday is not a business day, a listed workday is, otherwise Monday–Friday are. */
export function isBusinessDay(date: string, calendar: BusinessCalendar): boolean {
  return classifyDay(date, calendar).businessDay;
}

export interface RefundDue {
  readonly endedOn: string; // the Asia/Shanghai date the boost ended or expired
  readonly dueDate: string; // the Nth business day after it
  readonly dueAtMs: number; // the end (24:00 Asia/Shanghai) of dueDate = dueDate 16:00 UTC
  readonly businessDaysCounted: readonly string[]; // the N business days, in order
  /** Years among the days examined (after endedOn up to dueDate) without calendar data, sorted. */
  readonly calendarMissingYears: readonly string[];
}

/** Safety bound: no real calendar has a year without business days. */
const MAX_SCAN_DAYS = 3 * 366;

/**
 * B7: the refund of a boost that ended (or expired) at `endedAtMs` is due by the end (24:00
 * Asia/Shanghai) of the `businessDays`-th business day after the Asia/Shanghai day it ended on.
 * Example (SPEC): ended on 2025-09-26 → due at the end of 2025-10-13 = 2025-10-13T16:00:00Z.
 */
export function refundDueAt(endedAtMs: number, calendar: BusinessCalendar, businessDays: number = DEFAULT_BOOST_POLICY.refundBusinessDays): RefundDue {
  assertInstant(endedAtMs, 'endedAtMs');
  if (!Number.isSafeInteger(businessDays) || businessDays < 1) throw new RangeError(`businessDays must be a positive integer, got ${businessDays}`);
  const endedOn = shanghaiDateOf(endedAtMs);
  const counted: string[] = [];
  const missing = new Set<string>();
  let date = endedOn;
  for (let scanned = 0; counted.length < businessDays; scanned++) {
    if (scanned >= MAX_SCAN_DAYS) throw new RangeError(`no ${businessDays} business days within ${MAX_SCAN_DAYS} days after ${endedOn}`);
    date = addDays(date, 1);
    const day = classifyDay(date, calendar);
    if (day.calendarMissing) missing.add(date.slice(0, 4));
    if (day.businessDay) counted.push(date);
  }
  return { endedOn, dueDate: date, dueAtMs: endOfShanghaiDayMs(date), businessDaysCounted: counted, calendarMissingYears: [...missing].sort() };
}
