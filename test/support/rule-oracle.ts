/**
 * Expectations computed from the rules' own numbers (SPEC B4, B7), independently of the code under
 * test (domain/boost/validity.ts, domain/boost/business-days.ts): string dates, a plain count over
 * the calendar file, no function imported from the product (only the bundled calendar data, as a
 * fallback where ../shared is absent).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CN_BUSINESS_CALENDAR } from '../../domain/boost/calendar-data';

const SHANGHAI_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

interface CalendarFile {
  readonly years: Record<string, { readonly holidays: readonly string[]; readonly workdays: readonly string[] }>;
}

/**
 * The calendar file of SPEC B7 (../shared/data/cn-business-calendar.json from the repository root);
 * where that folder is absent (locally), the repository's copy of its data, which CI checks equal
 * to it (domain/boost/business-days.unit.test.ts). Data only: no code under test.
 */
export function calendarFile(): CalendarFile {
  const path = resolve(__dirname, '../../../shared/data/cn-business-calendar.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as CalendarFile;
  if (process.env.CI === 'true') throw new Error(`${path} is absent in CI: the B7 expectations count over that file`);
  return CN_BUSINESS_CALENDAR as unknown as CalendarFile;
}

/** The Asia/Shanghai calendar date (YYYY-MM-DD) of an instant. */
export function shanghaiDate(ms: number): string {
  return new Date(ms + SHANGHAI_MS).toISOString().slice(0, 10);
}

function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/**
 * B7: a business day is a listed 调休 workday, or a weekday not listed as a holiday; a year absent
 * from the file counts weekends only.
 */
export function isBusinessDayPerFile(date: string, file: CalendarFile): boolean {
  const year = file.years[date.slice(0, 4)];
  if (year?.workdays.includes(date)) return true;
  if (year?.holidays.includes(date)) return false;
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

/**
 * B7: the refund is due by the end (24:00 Asia/Shanghai) of the `n`th business day after the day
 * (Asia/Shanghai) the boost ended.
 */
export function expectedRefundDue(endedAtMs: number, file: CalendarFile = calendarFile(), n = 7): { endedOn: string; dueDate: string; dueAtMs: number; counted: string[] } {
  const endedOn = shanghaiDate(endedAtMs);
  const counted: string[] = [];
  let date = endedOn;
  while (counted.length < n) {
    date = nextDate(date);
    if (isBusinessDayPerFile(date, file)) counted.push(date);
  }
  return { endedOn, dueDate: date, dueAtMs: Date.parse(`${nextDate(date)}T00:00:00+08:00`), counted };
}

/**
 * B4: one calendar month after an instant, in Asia/Shanghai: the same wall-clock time on the same
 * day of the next month, or on that month's last day when it has no such day.
 */
export function expectedOneMonthLater(atMs: number): number {
  const local = new Date(atMs + SHANGHAI_MS).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, as wall-clock time
  let year = Number(local.slice(0, 4));
  let month = Number(local.slice(5, 7)) + 1;
  if (month === 13) [year, month] = [year + 1, 1];
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(Number(local.slice(8, 10)), lastDay);
  const pad = (n: number) => String(n).padStart(2, '0');
  return Date.parse(`${year}-${pad(month)}-${pad(day)}T${local.slice(11, 23)}+08:00`);
}
