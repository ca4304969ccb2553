/**
 * B4: the boost order's validity (下单有效期): the linked video must be published within one
 * calendar month of the order, in Asia/Shanghai: the same wall-clock time on the same day of the
 * next month, or on that month's last day if it has no such day (Jan 31 → Feb 28, or Feb 29 in a
 * leap year; Mar 31 → Apr 30; Dec 31 → Jan 31 of the next year).
 */
import { SHANGHAI_OFFSET_MS, assertInstant, daysInMonth } from './calendar-date';
import { DAY_MS, DEFAULT_BOOST_POLICY, type BoostPolicy } from './policy';

/**
 * The instant `months` calendar months after `atMs` in Asia/Shanghai (same day and wall-clock
 * time, clamped to the last day of the target month). Computed on the +8 h shifted instant with
 * UTC accessors only, so the machine's time zone never matters.
 */
export function addShanghaiMonths(atMs: number, months: number): number {
  assertInstant(atMs, 'atMs');
  if (!Number.isSafeInteger(months) || months < 0) throw new RangeError(`months must be a non-negative integer, got ${months}`);
  const local = new Date(atMs + SHANGHAI_OFFSET_MS);
  const timeOfDayMs = (((atMs + SHANGHAI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  const monthIndex = local.getUTCFullYear() * 12 + local.getUTCMonth() + months; // months since year 0
  const year = Math.floor(monthIndex / 12);
  const month = (monthIndex % 12) + 1; // 1–12
  const day = Math.min(local.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(year, month - 1, day) + timeOfDayMs - SHANGHAI_OFFSET_MS;
}

/** B4: one calendar month later in Asia/Shanghai. */
export function oneMonthLater(atMs: number): number {
  return addShanghaiMonths(atMs, 1);
}

/**
 * B4: the instant a boost ordered at `orderedAtMs` expires if its video is still unpublished
 * (publication must happen strictly before it).
 */
export function publicationDeadlineMs(orderedAtMs: number, policy: Pick<BoostPolicy, 'publicationWindowMonths'> = DEFAULT_BOOST_POLICY): number {
  return addShanghaiMonths(orderedAtMs, policy.publicationWindowMonths);
}
