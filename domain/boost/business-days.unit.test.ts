import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { assertValidCalendar, calendarFromRows, calendarRows, classifyDay, isBusinessDay, refundDueAt, type BusinessCalendar } from './business-days';
import { CN_BUSINESS_CALENDAR } from './calendar-data';
import { shanghaiDateOf } from './calendar-date';

const CAL: BusinessCalendar = CN_BUSINESS_CALENDAR;
/** An instant at `hh:mm` Asia/Shanghai wall-clock time on `date`. */
const shanghai = (date: string, time = '12:00') => Date.parse(`${date}T${time}:00+08:00`);
const due = (endedAtMs: number, calendar = CAL) => refundDueAt(endedAtMs, calendar);

describe('B7 business days', () => {
  test.each([
    ['2025-09-26', true, 'weekday', 'an ordinary Friday'],
    ['2025-09-27', false, 'weekend', 'an ordinary Saturday'],
    ['2025-09-28', true, 'workday', 'a 调休 working Sunday'],
    ['2025-10-11', true, 'workday', 'a 调休 working Saturday'],
    ['2025-10-01', false, 'holiday', 'National Day (a Wednesday)'],
    ['2025-10-04', false, 'holiday', 'a holiday on a Saturday'],
    ['2025-01-28', false, 'holiday', 'Spring Festival eve 2025 (a Tuesday)'],
    ['2026-02-14', true, 'workday', 'the 调休 Saturday before Spring Festival 2026'],
    ['2026-01-02', false, 'holiday', 'New Year 2026 (a Friday)'],
  ] as const)('B7: %s is a business day: %s (%s: %s)', (date, businessDay, kind, _description) => {
    expect(classifyDay(date, CAL)).toEqual({ date, businessDay, kind, calendarMissing: false });
    expect(isBusinessDay(date, CAL)).toBe(businessDay);
  });

  test('B7: a year without calendar data: weekends only, reported as calendarMissing', () => {
    expect(classifyDay('2031-10-01', CAL)).toEqual({ date: '2031-10-01', businessDay: true, kind: 'weekday', calendarMissing: true });
    expect(classifyDay('2031-10-04', CAL)).toEqual({ date: '2031-10-04', businessDay: false, kind: 'weekend', calendarMissing: true });
  });

  test('B7: rejects a date that is not YYYY-MM-DD', () => {
    expect(() => isBusinessDay('2025-02-29', CAL)).toThrow(RangeError);
    expect(() => isBusinessDay('2025-9-1', CAL)).toThrow(RangeError);
  });
});

describe('B7 refund due time: the end (24:00 Asia/Shanghai) of the 7th business day after the day the boost ended', () => {
  test('B7 (SPEC example): ended on 2025-09-26 → due by the end of 2025-10-13 (调休 Sunday 09-28 and Saturday 10-11 count, 10-01…10-08 do not)', () => {
    expect(due(shanghai('2025-09-26', '10:00'))).toEqual({
      endedOn: '2025-09-26',
      dueDate: '2025-10-13',
      dueAtMs: Date.parse('2025-10-13T16:00:00.000Z'), // 24:00 +08:00
      businessDaysCounted: ['2025-09-28', '2025-09-29', '2025-09-30', '2025-10-09', '2025-10-10', '2025-10-11', '2025-10-13'],
      calendarMissingYears: [],
    });
  });

  test('B7: the whole Shanghai day 2025-09-26 (00:00 to 23:59:59.999 +08:00) gives the same due time', () => {
    expect(due(Date.parse('2025-09-25T16:00:00.000Z')).dueDate).toBe('2025-10-13');
    expect(due(Date.parse('2025-09-26T15:59:59.999Z')).dueDate).toBe('2025-10-13');
  });

  test('B7: an end late in the day UTC is already the next day in Shanghai (2025-09-25T16:30Z = 09-26 00:30 +08:00)', () => {
    expect(shanghaiDateOf(Date.parse('2025-09-25T16:30:00Z'))).toBe('2025-09-26');
    expect(due(Date.parse('2025-09-25T16:30:00Z'))).toMatchObject({ endedOn: '2025-09-26', dueDate: '2025-10-13' });
    // One hour earlier it is still 09-25 in Shanghai, and 09-26 itself becomes the first business day.
    expect(due(Date.parse('2025-09-25T15:30:00Z'))).toMatchObject({ endedOn: '2025-09-25', dueDate: '2025-10-11', dueAtMs: Date.parse('2025-10-11T16:00:00Z') });
  });

  test('B7: the day the boost ended never counts, even if it is a business day', () => {
    expect(due(shanghai('2025-09-29')).businessDaysCounted[0]).toBe('2025-09-30');
  });

  test('B7: Spring Festival 2025: ended Fri 01-24 → 01-26 (调休 Sun), 01-27, [01-28…02-04 holiday], 02-05, 02-06, 02-07, 02-08 (调休 Sat), 02-10', () => {
    expect(due(shanghai('2025-01-24'))).toMatchObject({
      dueDate: '2025-02-10',
      businessDaysCounted: ['2025-01-26', '2025-01-27', '2025-02-05', '2025-02-06', '2025-02-07', '2025-02-08', '2025-02-10'],
    });
  });

  test('B7: Spring Festival 2026: ended Thu 02-12 → 02-13, 02-14 (调休 Sat), [02-15…02-23], 02-24 … 02-27, 02-28 (调休 Sat)', () => {
    expect(due(shanghai('2026-02-12'))).toMatchObject({
      dueDate: '2026-02-28',
      businessDaysCounted: ['2026-02-13', '2026-02-14', '2026-02-24', '2026-02-25', '2026-02-26', '2026-02-27', '2026-02-28'],
    });
  });

  test('B7: Mid-Autumn + National Day 2026: ended Thu 09-24 → due Mon 10-12 (10-10 is a 调休 Saturday)', () => {
    expect(due(shanghai('2026-09-24'))).toMatchObject({
      dueDate: '2026-10-12',
      businessDaysCounted: ['2026-09-28', '2026-09-29', '2026-09-30', '2026-10-08', '2026-10-09', '2026-10-10', '2026-10-12'],
    });
  });

  test('B7: year boundary: ended Tue 2025-12-30 → 12-31, [2026-01-01…03 holiday], 01-04 (调休 Sun), 01-05 … 01-09', () => {
    expect(due(shanghai('2025-12-30'))).toMatchObject({
      dueDate: '2026-01-09',
      dueAtMs: Date.parse('2026-01-09T16:00:00Z'),
      businessDaysCounted: ['2025-12-31', '2026-01-04', '2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09'],
      calendarMissingYears: [],
    });
  });

  test('B7: New Year’s Eve 16:00Z is already 2026-01-01 in Shanghai (a holiday): counting starts on 01-02', () => {
    expect(due(Date.parse('2025-12-31T16:00:00Z'))).toMatchObject({ endedOn: '2026-01-01', dueDate: '2026-01-12' });
  });

  test('B7: a year without data (2031): weekends only, and the year is reported for ops (calendar_missing)', () => {
    expect(due(shanghai('2031-03-07'))).toMatchObject({
      endedOn: '2031-03-07', // a Friday
      dueDate: '2031-03-18',
      businessDaysCounted: ['2031-03-10', '2031-03-11', '2031-03-12', '2031-03-13', '2031-03-14', '2031-03-17', '2031-03-18'],
      calendarMissingYears: ['2031'],
    });
    // National Day 2031 is unknown, so its days count as business days (hence the flag).
    expect(due(shanghai('2031-09-30')).dueDate).toBe('2031-10-09');
  });

  test('B7: counting from a known year into a missing one reports only the missing one (2026-12-30 → 2027-01-08, ["2027"])', () => {
    expect(due(shanghai('2026-12-30'))).toMatchObject({ dueDate: '2027-01-08', calendarMissingYears: ['2027'] });
  });

  test('B7: the number of business days comes from the policy snapshot', () => {
    expect(refundDueAt(shanghai('2025-09-26'), CAL, 1).dueDate).toBe('2025-09-28');
    expect(() => refundDueAt(shanghai('2025-09-26'), CAL, 0)).toThrow(RangeError);
  });

  test('B7: a calendar with no business days at all fails loudly instead of looping', () => {
    const dates: string[] = [];
    for (let d = Date.parse('2040-01-01'); d < Date.parse('2044-01-01'); d += 86_400_000) dates.push(new Date(d).toISOString().slice(0, 10));
    const closed = calendarFromRows(dates.map((date) => ({ date, kind: 'holiday' as const })));
    expect(() => refundDueAt(shanghai('2040-01-01'), closed)).toThrow(/no 7 business days/);
  });
});

describe('B7 calendar data (the JSON file and the table ops can extend)', () => {
  const shared = resolve(__dirname, '../../../shared/data/cn-business-calendar.json');

  // In CI the shared folder sits beside the clone: there a missing file fails the check (never a
  // silent skip). Locally, without ../shared, the check is skipped and says why.
  const inCi = process.env.CI === 'true';
  if (!existsSync(shared) && !inCi) {
    console.warn(`B7 calendar check skipped: ${shared} is absent (outside CI); it runs, and fails without the file, in CI (CI=true)`);
  }
  (existsSync(shared) || inCi ? test : test.skip)('B7: the copy in the repository equals ../shared/data/cn-business-calendar.json', () => {
    expect(existsSync(shared)).toBe(true);
    expect(JSON.parse(readFileSync(shared, 'utf8'))).toEqual(CN_BUSINESS_CALENDAR);
  });

  test('B7: the bundled calendar is valid', () => {
    expect(() => assertValidCalendar(CN_BUSINESS_CALENDAR)).not.toThrow();
  });

  test('B7: table rows round-trip: calendarFromRows(calendarRows(json)) gives the same answers', () => {
    const rows = calendarRows(CAL);
    expect(rows).toHaveLength(28 + 5 + 33 + 6);
    expect(rows[0]).toEqual({ date: '2025-01-01', kind: 'holiday' });
    const fromRows = calendarFromRows(rows);
    expect(Object.keys(fromRows.years).sort()).toEqual(['2025', '2026']);
    for (const ended of ['2025-01-24', '2025-09-26', '2025-12-30', '2026-02-12', '2026-12-30']) {
      expect(due(shanghai(ended), fromRows)).toEqual(due(shanghai(ended)));
    }
  });

  test('B7: a year declared present with no rows is not missing (ops confirmed it has no special days)', () => {
    const calendar = calendarFromRows([], ['2031']);
    expect(due(shanghai('2031-03-07'), calendar).calendarMissingYears).toEqual([]);
    expect(due(shanghai('2031-03-07'), calendarFromRows([])).calendarMissingYears).toEqual(['2031']);
  });

  test('B7: an ops row adding a holiday moves the due date (2031-03-10 declared a holiday)', () => {
    const calendar = calendarFromRows([{ date: '2031-03-10', kind: 'holiday' }]);
    expect(due(shanghai('2031-03-07'), calendar)).toMatchObject({ dueDate: '2031-03-19', calendarMissingYears: [] });
  });

  test.each<[string, unknown]>([
    ['no years', {}],
    ['a bad year key', { years: { '25': { holidays: [], workdays: [] } } }],
    ['a date outside its year', { years: { '2025': { holidays: ['2026-01-01'], workdays: [] } } }],
    ['an impossible date', { years: { '2025': { holidays: ['2025-02-29'], workdays: [] } } }],
    ['a date both holiday and workday', { years: { '2025': { holidays: ['2025-10-11'], workdays: ['2025-10-11'] } } }],
    ['a missing list', { years: { '2025': { holidays: [] } } }],
  ])('B7: an invalid calendar is refused (%s)', (_name, document) => {
    expect(() => assertValidCalendar(document)).toThrow(RangeError);
  });

  test('B7: an invalid table row is refused', () => {
    expect(() => calendarFromRows([{ date: '2025-13-01', kind: 'holiday' }])).toThrow(RangeError);
    expect(() => calendarFromRows([{ date: '2025-10-01', kind: 'vacation' as 'holiday' }])).toThrow(RangeError);
  });
});
