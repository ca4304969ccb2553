import { STATS_RECHECK_EARLY_FOR_MS, STATS_RECHECK_LATE_FOR_MS, statsRecheckDelayMs } from '../workflows/boost-order-api';

/** B6/B8 (issue 18): how often a waiting evaluation re-reads the count, and what that costs in history. */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

test('every 5 minutes for the first 6 hours of waiting, then hourly, then every 6 hours after a week', () => {
  expect(STATS_RECHECK_EARLY_FOR_MS).toBe(6 * HOUR);
  expect(STATS_RECHECK_LATE_FOR_MS).toBe(7 * DAY);
  expect([0, 6 * HOUR - 1].map(statsRecheckDelayMs)).toEqual([5 * MINUTE, 5 * MINUTE]);
  expect([6 * HOUR, 7 * DAY - 1].map(statsRecheckDelayMs)).toEqual([HOUR, HOUR]);
  expect([7 * DAY, 90 * DAY].map(statsRecheckDelayMs)).toEqual([6 * HOUR, 6 * HOUR]);
});

test('a long wait stays far below Temporal\'s history limit (51,200 events; about 11 per re-check)', () => {
  const rechecksWithin = (ms: number) => {
    let n = 0;
    for (let waited = 0; waited < ms; waited += statsRecheckDelayMs(waited)) n += 1;
    return n;
  };
  expect(rechecksWithin(6 * HOUR)).toBe(72);
  expect(11 * rechecksWithin(30 * DAY)).toBeLessThan(10_000);
  expect(11 * rechecksWithin(365 * DAY)).toBeLessThan(25_000);
});
