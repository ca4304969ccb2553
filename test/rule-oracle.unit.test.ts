import { calendarFile, expectedOneMonthLater, expectedRefundDue, isBusinessDayPerFile } from './support/rule-oracle';

/** The tests' own reading of B4 and B7 (test/support/rule-oracle.ts), checked against SPEC's examples. */
describe('the rule oracle of the tests', () => {
  test('B7: SPEC example: a boost ending on 2025-09-26 has its refund due by the end of 2025-10-13', () => {
    const due = expectedRefundDue(Date.parse('2025-09-26T15:00:00+08:00'), calendarFile());
    expect(due).toEqual({
      endedOn: '2025-09-26',
      dueDate: '2025-10-13',
      dueAtMs: Date.parse('2025-10-14T00:00:00+08:00'),
      counted: ['2025-09-28', '2025-09-29', '2025-09-30', '2025-10-09', '2025-10-10', '2025-10-11', '2025-10-13'],
    });
  });

  test('B7: the day is the Asia/Shanghai one; a year missing from the file counts weekends only', () => {
    expect(expectedRefundDue(Date.parse('2025-09-26T16:30:00Z'), calendarFile()).endedOn).toBe('2025-09-27');
    expect(isBusinessDayPerFile('2031-01-04', { years: {} })).toBe(false); // a Saturday
    expect(expectedRefundDue(Date.parse('2031-01-03T12:00:00+08:00'), { years: {} }).dueDate).toBe('2031-01-14');
  });

  test('B4: the same wall-clock time one month later, or that month’s last day', () => {
    expect(new Date(expectedOneMonthLater(Date.parse('2025-01-31T09:00:00+08:00'))).toISOString()).toBe('2025-02-28T01:00:00.000Z');
    expect(new Date(expectedOneMonthLater(Date.parse('2024-01-31T23:30:00.250+08:00'))).toISOString()).toBe('2024-02-29T15:30:00.250Z');
    expect(new Date(expectedOneMonthLater(Date.parse('2025-12-31T00:10:00+08:00'))).toISOString()).toBe('2026-01-30T16:10:00.000Z');
    expect(new Date(expectedOneMonthLater(Date.parse('2025-03-31T17:00:00Z'))).toISOString()).toBe('2025-04-30T17:00:00.000Z');
  });
});
