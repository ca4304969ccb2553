import { html, type Html, type Renderable } from './html';
import type { ConsoleSession } from './session';

export const CONSOLE_PATH = '/console';
export const ASSETS_PATH = `${CONSOLE_PATH}/assets`;

/** The pages each role's navigation offers (the role decides what is shown; the API decides what is allowed). */
const NAV: Record<'ops' | 'finance', ReadonlyArray<readonly [string, string]>> = {
  ops: [
    ['/console/ops/stuck', 'Stuck orders'],
    ['/console/ops/orders', 'Search orders'],
    ['/console/refunds', 'Boost refunds'],
  ],
  finance: [
    ['/console/finance/trial-balance', 'Trial balance'],
    ['/console/finance/statement', 'Statements'],
    ['/console/finance/audit', 'Audit'],
    ['/console/finance/export', 'CSV export'],
    ['/console/refunds', 'Boost refunds'],
  ],
};

export interface PageOptions {
  readonly title: string;
  readonly session?: ConsoleSession | undefined;
  /** The nav entry to mark current. */
  readonly current?: string;
  readonly body: Renderable;
}

export function page({ title, session, current, body }: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<title>${title} · Xingtu console</title>
<link rel="icon" type="image/svg+xml" href="${ASSETS_PATH}/favicon.svg">
<link rel="stylesheet" href="${ASSETS_PATH}/console.css">
<script src="${ASSETS_PATH}/htmx.min.js" defer></script>
<script src="${ASSETS_PATH}/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="${CONSOLE_PATH}">Xingtu console</a>
  ${session ? nav(session, current) : ''}
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

function nav(session: ConsoleSession, current: string | undefined): Html {
  const items = session.role === 'ops' || session.role === 'finance' ? NAV[session.role] : [];
  return html`<nav aria-label="main">
  <ul>${items.map(([href, label]) => html`<li><a href="${href}"${current === href ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul>
  <form method="post" action="${CONSOLE_PATH}/sign-out" class="sign-out">
    <span class="who">${session.person} · ${session.role}</span>
    ${csrfField(session)}
    <button type="submit">Sign out</button>
  </form>
</nav>`;
}

export function csrfField(session: ConsoleSession): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}

/** A notice box: `error` for refusals, `ok` for results. */
export function notice(kind: 'error' | 'ok' | 'info', content: Renderable): Html {
  return html`<div class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${content}</div>`;
}

/** A column heading; `num()` right-aligns it over amounts. */
export type Heading = string | { readonly label: string; readonly num: true };
export const num = (label: string): Heading => ({ label, num: true });

/** A table that scrolls sideways on a narrow screen instead of breaking the page. */
export function table(caption: string, head: readonly Heading[], rows: readonly Renderable[], empty = 'nothing here'): Html {
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0">
<table${head.length > 4 ? html` class="wide"` : ''}>
<caption>${caption}</caption>
<thead><tr>${head.map((h) => (typeof h === 'string' ? html`<th scope="col">${h}</th>` : html`<th scope="col" class="num">${h.label}</th>`))}</tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="${head.length}" class="muted">${empty}</td></tr>` : rows}</tbody>
</table>
</div>`;
}
