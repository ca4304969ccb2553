import { addShanghaiMonths, oneMonthLater, publicationDeadlineMs } from './validity';
import { DEFAULT_BOOST_POLICY } from './policy';

/** ISO instant with the +08:00 offset, and back. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const local = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00');

describe('B4 one calendar month in Asia/Shanghai', () => {
  test.each([
    ['2025-09-15T10:30:00', '2025-10-15T10:30:00', 'the same day and wall-clock time next month'],
    ['2025-01-31T09:00:00', '2025-02-28T09:00:00', 'Jan 31 → Feb 28 (no Feb 31)'],
    ['2028-01-31T09:00:00', '2028-02-29T09:00:00', 'Jan 31 → Feb 29 in a leap year'],
    ['2028-01-29T09:00:00', '2028-02-29T09:00:00', 'Jan 29 → Feb 29 in a leap year (the day exists)'],
    ['2025-01-29T09:00:00', '2025-02-28T09:00:00', 'Jan 29 → Feb 28 in a common year'],
    ['2025-03-31T23:59:59', '2025-04-30T23:59:59', 'Mar 31 → Apr 30'],
    ['2025-12-31T00:00:00', '2026-01-31T00:00:00', 'Dec 31 → Jan 31 of the next year'],
    ['2025-12-15T08:00:00', '2026-01-15T08:00:00', 'December → January of the next year'],
    ['2028-02-29T12:00:00', '2028-03-29T12:00:00', 'Feb 29 → Mar 29'],
    ['2025-02-28T12:00:00', '2025-03-28T12:00:00', 'Feb 28 → Mar 28 (not the end of March)'],
  ])('B4: %s +08:00 → %s +08:00 (%s)', (from, to) => {
    expect(local(oneMonthLater(at(from)))).toBe(`${to}.000+08:00`);
  });

  test('B4: evaluated on the Shanghai date, not the UTC one: 2025-01-31T16:30Z is Feb 1 00:30 in Shanghai → Mar 1 00:30', () => {
    // In UTC it is still Jan 31 (which would give Feb 28); in Shanghai it is already Feb 1.
    expect(new Date(oneMonthLater(Date.parse('2025-01-31T16:30:00Z'))).toISOString()).toBe('2025-02-28T16:30:00.000Z');
  });

  test('B4: 2025-03-31T17:00Z is Apr 1 01:00 in Shanghai → May 1 01:00 (2025-04-30T17:00Z)', () => {
    expect(new Date(oneMonthLater(Date.parse('2025-03-31T17:00:00Z'))).toISOString()).toBe('2025-04-30T17:00:00.000Z');
  });

  test('B4: milliseconds are kept', () => {
    expect(oneMonthLater(at('2025-09-15T10:30:00.123'))).toBe(at('2025-10-15T10:30:00.123'));
  });

  test('B4: the publication deadline is one month after the order (policy snapshot), several months also clamp', () => {
    expect(publicationDeadlineMs(at('2025-01-31T09:00:00'), DEFAULT_BOOST_POLICY)).toBe(at('2025-02-28T09:00:00'));
    expect(publicationDeadlineMs(at('2025-01-31T09:00:00'), { publicationWindowMonths: 3 })).toBe(at('2025-04-30T09:00:00'));
    expect(addShanghaiMonths(at('2025-08-31T09:00:00'), 6)).toBe(at('2026-02-28T09:00:00'));
    expect(addShanghaiMonths(at('2025-08-31T09:00:00'), 0)).toBe(at('2025-08-31T09:00:00'));
  });

  test('B4: rejects a non-integer instant or month count', () => {
    expect(() => oneMonthLater(Number.NaN)).toThrow(RangeError);
    expect(() => addShanghaiMonths(0, 1.5)).toThrow(RangeError);
    expect(() => addShanghaiMonths(0, -1)).toThrow(RangeError);
  });
});
