import { sql, type Kysely } from 'kysely';
import { calendarFromRows, calendarRows, type BusinessCalendar, type CalendarRow } from '../domain/boost/business-days';
import { CN_BUSINESS_CALENDAR } from '../domain/boost/calendar-data';
import type { Database } from './schema';

/**
 * B7: the business calendar lives in two tables ops can extend (db/migrations/0005):
 * `business_calendar_years` (a year whose official data is loaded) and `business_calendar_days`
 * (its holidays and 调休 working weekends). Workflows read it through an activity, so a calendar
 * change never alters the history of a running workflow (replay stays deterministic).
 */

/**
 * Loads the bundled years (domain/boost/calendar-data.ts, a copy of
 * shared/data/cn-business-calendar.json) that the table does not have yet. Idempotent, and a year
 * already present is never touched again: once loaded, the table is the truth and ops' edits to it
 * (a corrected or an added day) survive every later run. Runs after the migrations
 * (db/migrate.ts migrateToLatest), so wherever the database is migrated it is also seeded.
 */
export async function seedBusinessCalendar(db: Kysely<Database>, calendar: BusinessCalendar = CN_BUSINESS_CALENDAR): Promise<string[]> {
  const loaded: string[] = [];
  for (const [year, entry] of Object.entries(calendar.years)) {
    const inserted = await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('business_calendar_years')
        .values({ year: Number(year), source: entry.source ?? null })
        .onConflict((oc) => oc.column('year').doNothing())
        .returning('year')
        .executeTakeFirst();
      if (!row) return false; // already loaded: the table is the truth
      const days = calendarRows({ years: { [year]: entry } });
      if (days.length > 0) {
        await trx
          .insertInto('business_calendar_days')
          .values(days.map((d) => ({ date: d.date, kind: d.kind, year: Number(year) })))
          .onConflict((oc) => oc.column('date').doNothing())
          .execute();
      }
      return true;
    });
    if (inserted) loaded.push(year);
  }
  return loaded;
}

/** B7: the calendar as the tables hold it now (dates read as text: no time zone is involved). */
export async function loadBusinessCalendar(db: Kysely<Database>): Promise<BusinessCalendar> {
  const [years, days] = await Promise.all([
    db.selectFrom('business_calendar_years').select('year').orderBy('year').execute(),
    db
      .selectFrom('business_calendar_days')
      .select([sql<string>`to_char(date, 'YYYY-MM-DD')`.as('date'), 'kind'])
      .orderBy('date')
      .execute(),
  ]);
  return calendarFromRows(days as CalendarRow[], years.map((y) => y.year));
}
