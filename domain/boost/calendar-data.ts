/**
 * The official mainland-China business calendar (holidays and 调休 working weekends), a copy of
 * `../shared/data/cn-business-calendar.json` (SPEC B7) kept in the repository so the pure core and
 * its tests do not depend on a file outside it; it seeds the calendar table ops can extend. A unit
 * test checks the copy against the shared file whenever that file is present.
 */
import type { BusinessCalendar } from './business-days';

export const CN_BUSINESS_CALENDAR = {
  description:
    "Mainland China public holidays and adjusted working days (调休), from the State Council General Office notices on holiday arrangements. A date listed in 'holidays' is a non-working day even on a weekday; a date listed in 'workdays' is a working day even on a Saturday or Sunday; every other Saturday and Sunday is a non-working day. Times are Asia/Shanghai (UTC+8, no daylight saving).",
  timeZone: 'Asia/Shanghai',
  years: {
    '2025': {
      source: '国办发明电〔2024〕12号, published 2024-11-12',
      holidays: [
        '2025-01-01',
        '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02', '2025-02-03', '2025-02-04',
        '2025-04-04', '2025-04-05', '2025-04-06',
        '2025-05-01', '2025-05-02', '2025-05-03', '2025-05-04', '2025-05-05',
        '2025-05-31', '2025-06-01', '2025-06-02',
        '2025-10-01', '2025-10-02', '2025-10-03', '2025-10-04', '2025-10-05', '2025-10-06', '2025-10-07', '2025-10-08',
      ],
      workdays: ['2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11'],
    },
    '2026': {
      source: 'State Council General Office notice on 2026 holidays, published 2025-11-04',
      holidays: [
        '2026-01-01', '2026-01-02', '2026-01-03',
        '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23',
        '2026-04-04', '2026-04-05', '2026-04-06',
        '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05',
        '2026-06-19', '2026-06-20', '2026-06-21',
        '2026-09-25', '2026-09-26', '2026-09-27',
        '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07',
      ],
      workdays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
    },
  },
} as const satisfies BusinessCalendar & { readonly description: string; readonly timeZone: string };
