/**
 * F6: the console's HTML is built by template functions; every interpolated value is escaped unless
 * it is already `Html` (built by `html` itself), so no order id, reason or error message an API
 * caller chose can inject markup into an operator's browser.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Renderable = Html | string | number | bigint | boolean | null | undefined | readonly Renderable[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function render(value: Renderable): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** The tagged template: `html\`<td>${orderId}</td>\`` escapes `orderId`. */
export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

// ── Formatting (SPEC §1): amounts from integer fen, times in Asia/Shanghai with UTC on hover ──────

/** `12345n` → `¥123.45`; exact bigint arithmetic, never a float (SPEC §1): money is bigint fen, never a number. */
export function yuan(fen: bigint): string {
  const negative = fen < 0n;
  const abs = negative ? -fen : fen;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '−' : ''}¥${whole}.${cents}`;
}

/** A fen amount as a cell: right-aligned, negative amounts marked; none: a dash. */
export function money(fen: bigint | null | undefined): Html {
  if (fen === null || fen === undefined) return html`<span class="muted">—</span>`;
  return html`<span class="${fen < 0n ? 'amount neg' : 'amount'}" data-fen="${fen.toString()}">${yuan(fen)}</span>`;
}

const SHANGHAI_OFFSET_MS = 8 * 3600_000; // UTC+8, no daylight saving (SPEC §1)

/** `2026-12-01T00:00:00Z` → `2026-12-01 08:00:00` (Asia/Shanghai). */
export function shanghai(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().replace('T', ' ').slice(0, 19);
}

/** An instant: shown in Asia/Shanghai, UTC in the title (hover) and the datetime attribute. */
export function time(iso: string | null | undefined): Html {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  if (!iso || Number.isNaN(ms)) return html`<span class="muted">${iso || '—'}</span>`;
  const utc = new Date(ms).toISOString();
  return html`<time datetime="${utc}" title="${utc.replace('.000Z', 'Z')} UTC">${shanghai(iso)}</time>`;
}

/** A `datetime-local` input value (Asia/Shanghai wall time) → an ISO instant; undefined if malformed. */
export function fromShanghaiLocal(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)) - SHANGHAI_OFFSET_MS;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** An ISO instant → the `datetime-local` value of the same instant in Asia/Shanghai. */
export function toShanghaiLocal(iso: string): string {
  return shanghai(iso).replace(' ', 'T').slice(0, 16);
}

/** A duration in ms as `3 d 4 h`, `12 min` (age of a stuck entry). */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}
