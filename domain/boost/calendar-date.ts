/**
 * Calendar dates in Asia/Shanghai (SPEC §1: calendar rules are evaluated in UTC+8, which has no
 * daylight saving). Dates are `YYYY-MM-DD` strings; arithmetic is done on day numbers (days since
 * 1970-01-01) so no local-time-zone `Date` method is ever involved: an instant is shifted by +8 h
 * and read with the UTC accessors.
 */
import { DAY_MS, HOUR_MS } from './policy';

/** UTC+8, fixed. */
export const SHANGHAI_OFFSET_MS = 8 * HOUR_MS;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written `YYYY-MM-DD`, years 1000–9999 (e.g. not 2025-02-29). */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  return y >= 1000 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (throws on anything else). */
export function dayNumberOf(date: string): number {
  if (!isIsoDate(date)) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

/** The `YYYY-MM-DD` date of a day number. */
export function dateOfDayNumber(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** The date `days` calendar days after (or before, if negative) `date`. */
export function addDays(date: string, days: number): string {
  return dateOfDayNumber(dayNumberOf(date) + days);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(date: string): number {
  return new Date(dayNumberOf(date) * DAY_MS).getUTCDay();
}

/** The Asia/Shanghai calendar date an instant falls on. */
export function shanghaiDateOf(epochMs: number): string {
  assertInstant(epochMs);
  return new Date(epochMs + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** 00:00 Asia/Shanghai of `date`, as epoch ms (= the previous day 16:00 UTC). */
export function startOfShanghaiDayMs(date: string): number {
  return dayNumberOf(date) * DAY_MS - SHANGHAI_OFFSET_MS;
}

/** 24:00 Asia/Shanghai of `date` (= 00:00 of the next day there = `date` 16:00 UTC), as epoch ms. */
export function endOfShanghaiDayMs(date: string): number {
  return startOfShanghaiDayMs(date) + DAY_MS;
}

/** Number of days of month `month` (1–12) of `year` (proleptic Gregorian). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function assertInstant(epochMs: number, name = 'epochMs'): void {
  if (!Number.isSafeInteger(epochMs)) throw new RangeError(`${name} must be an integer number of epoch milliseconds, got ${epochMs}`);
}
