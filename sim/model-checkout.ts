/**
 * The reference model's checkout (SPEC §2 "Checkout", C1–C5), written from SPEC.md apart from
 * `domain/`: a checkout checks every line, pays its total once, then every line is placed (with
 * its boost), or it is refused at its first failing line and nothing is placed and nothing paid.
 * The model applies a paid checkout at one instant: no line's order can be seen, or its id taken,
 * between the payment and the placements that an instant later would not also show.
 */
import { BOOSTABLE, addBoost, addTask, applied, fen, fundingOf, obj, pay, placementFen, str, type Json, type ModelOptions, type Outcome } from './model-rules';
import { balanceOf, canonical, clone, notify, type CheckoutM, type QuoteM, type Win, type World } from './model-world';

/** C1: at most this many lines. */
const MAX_LINES = 50;

interface LineJ {
  readonly orderId: string;
  readonly creatorId: string;
  readonly taskType: string;
  readonly priceFen: bigint;
  readonly boost?: { readonly boostOrderId: string; readonly quoteId: string };
}

interface CheckoutJ {
  readonly checkoutId: string;
  readonly clientId: string;
  readonly mode: 'full' | 'deposit';
  readonly funding: NonNullable<ReturnType<typeof fundingOf>>;
  readonly lines: readonly LineJ[];
}

/** The request as the model reads it; undefined when it does not match the schema (400, nothing stored). */
function checkoutOf(body: Json): CheckoutJ | undefined {
  const checkoutId = str(body.checkoutId);
  const clientId = str(body.clientId);
  const mode = body.paymentMode;
  const funding = fundingOf(body.funding);
  if (!checkoutId || !clientId || (mode !== 'full' && mode !== 'deposit') || !funding || !Array.isArray(body.lines)) return undefined;
  if (body.lines.length < 1 || body.lines.length > MAX_LINES) return undefined;
  const lines: LineJ[] = [];
  for (const raw of body.lines.map(obj)) {
    const orderId = str(raw.orderId);
    const creatorId = str(raw.creatorId);
    const taskType = str(raw.taskType);
    const priceFen = fen(raw.priceFen);
    if (!orderId || !creatorId || !taskType || priceFen === undefined) return undefined;
    const b = raw.boost === undefined ? undefined : obj(raw.boost);
    const boost = b && str(b.boostOrderId) && str(b.quoteId) ? { boostOrderId: str(b.boostOrderId)!, quoteId: str(b.quoteId)! } : undefined;
    if (b && !boost) return undefined;
    lines.push({ orderId, creatorId, taskType, priceFen, ...(boost ? { boost } : {}) });
  }
  return { checkoutId, clientId, mode, funding, lines };
}

/** C2: a line's cost: its placement (T3/T4) plus its boost fee (B1). */
const lineFen = (c: CheckoutJ, line: LineJ, quote: QuoteM | undefined): bigint => placementFen(line.priceFen, c.mode) + (line.boost && quote ? quote.feeFen : 0n);

/**
 * C1, §8: the first line that repeats a creator or an id (order or boost, either way round) of an
 * earlier line. Such a basket is malformed: refused 400 at that line before anything is checked or
 * stored (docs/decisions.md), so the corrected basket may be sent under the same checkoutId.
 */
function firstRepeat(c: CheckoutJ): number | undefined {
  const creators = new Set<string>();
  const ids = new Set<string>();
  for (const [lineIndex, line] of c.lines.entries()) {
    const own = [line.orderId, ...(line.boost ? [line.boost.boostOrderId] : [])];
    if (creators.has(line.creatorId) || own.some((id) => ids.has(id)) || own.length !== new Set(own).size) return lineIndex;
    creators.add(line.creatorId);
    for (const id of own) ids.add(id);
  }
  return undefined;
}

/**
 * C3: the codes that may refuse `line` (none: it passes). The SPEC does not order one line's
 * checks, so every failing one may answer; it does say the first failing LINE is named.
 */
function lineCodes(w: World, c: CheckoutJ, line: LineJ): Set<string> {
  const codes = new Set<string>();
  const usedBy = (checkoutId: string | undefined) => checkoutId !== c.checkoutId;
  const task = w.tasks[line.orderId];
  if (task && usedBy(task.checkoutId)) codes.add('invalid_state'); // C3: an orderId already used
  if (!line.boost) return codes;
  const boost = w.boosts[line.boost.boostOrderId];
  if (boost && usedBy(boost.checkoutId)) codes.add('invalid_state');
  const quote = w.quotes[line.boost.quoteId];
  if (!BOOSTABLE.includes(line.taskType)) codes.add('invalid_state'); // B3: no video to boost
  if (!quote) codes.add('not_found');
  else {
    if (quote.clientId !== undefined && quote.clientId !== c.clientId) codes.add('forbidden'); // B1: another client's quote
    if (quote.creatorId !== line.creatorId || quote.priceFen !== line.priceFen || !quote.available) codes.add('invalid_state'); // B1–B3
  }
  return codes;
}

type Pricing = { readonly ok: true; readonly totalFen: bigint } | { readonly ok: false; readonly lineIndex: number; readonly codes: readonly string[] };

/** C2/C3: the checkout's total, or its first failing line with the codes that may name it. */
function price(w: World, c: CheckoutJ): Pricing {
  let totalFen = 0n;
  for (const [lineIndex, line] of c.lines.entries()) {
    const codes = lineCodes(w, c, line);
    if (codes.size > 0) return { ok: false, lineIndex, codes: [...codes] };
    totalFen += lineFen(c, line, line.boost ? w.quotes[line.boost.quoteId] : undefined);
  }
  return { ok: true, totalFen };
}

/** C3: a refused checkout is stored with its refusal (the same request answers it again) and its client told. */
function refusedAndStored(w0: World, c: CheckoutJ, fp: string, codes: readonly string[], lineIndex: number | null): Outcome[] {
  return codes.map((code) => {
    const w = clone(w0);
    const stored: CheckoutM = { id: c.checkoutId, clientId: c.clientId, fp, status: 'failed', totalFen: 0n, failure: { code, lineIndex } };
    w.checkouts[c.checkoutId] = stored;
    notify(w, `checkout:${c.checkoutId}`, 'checkout_failed', `client:${c.clientId}`); // C5
    return { kind: 'refused', codes: [code], lineIndex, world: w };
  });
}

/** C1–C4: POST /v1/checkouts. */
export function checkout(w0: World, body: Json, m: ModelOptions, when: Win): Outcome[] {
  const fp = canonical(body);
  const c = checkoutOf(body);
  if (!c) return [{ kind: 'refused', codes: ['validation_failed'] }];
  const repeat = firstRepeat(c);
  if (repeat !== undefined) return [{ kind: 'refused', codes: ['validation_failed'], lineIndex: repeat }];
  const existing = w0.checkouts[c.checkoutId];
  if (existing) return again(w0, existing, fp);
  const pricing = price(w0, c);
  if (!pricing.ok) return refusedAndStored(w0, c, fp, pricing.codes, pricing.lineIndex);
  const w = clone(w0);
  const refusal = pay(w, c.clientId, c.funding, pricing.totalFen, `checkout:${c.checkoutId}`); // L2, L5: once, for the whole checkout
  if (refusal) return refusedAndStored(w0, c, fp, [refusal], null);
  for (const line of c.lines) {
    const task = addTask(w, { id: line.orderId, clientId: c.clientId, creatorId: line.creatorId, taskType: line.taskType, mode: c.mode, fp: `checkout:${c.checkoutId}`, priceFen: line.priceFen, checkoutId: c.checkoutId }, m, when);
    if (line.boost) addBoost(w, { id: line.boost.boostOrderId, task, clientId: c.clientId, fp: `checkout:${c.checkoutId}`, quote: w.quotes[line.boost.quoteId]!, checkoutId: c.checkoutId });
  }
  w.checkouts[c.checkoutId] = {
    id: c.checkoutId,
    clientId: c.clientId,
    fp,
    status: 'completed',
    totalFen: pricing.totalFen,
  };
  notify(w, `checkout:${c.checkoutId}`, 'checkout_completed', `client:${c.clientId}`); // C5
  return [applied(w, `checkout ${c.checkoutId}: ${c.lines.length} lines placed, paid ${pricing.totalFen}`, { statuses: [201], verify: (answer) => checkoutAnswerProblem(answer, w.checkouts[c.checkoutId]!) })];
}

/** C4: the same checkoutId again: the same content answers the same outcome; another content is a conflict. */
function again(w: World, existing: CheckoutM, fp: string): Outcome[] {
  if (existing.fp !== fp) return [{ kind: 'refused', codes: ['invalid_state'], lineIndex: null }];
  if (existing.failure) return [{ kind: 'refused', codes: [existing.failure.code], lineIndex: existing.failure.lineIndex }];
  // 201 when it joined the first request still running.
  return [applied(w, `checkout ${existing.id} again (C4)`, { statuses: [200, 201], verify: (answer) => checkoutAnswerProblem(answer, existing) })];
}

function checkoutAnswerProblem(answer: unknown, c: CheckoutM): string | undefined {
  const v = obj(answer);
  if (v.status !== 'completed') return `status ${String(v.status)}, the model has it completed`;
  if (fen(v.totalFen) !== c.totalFen) return `totalFen ${String(v.totalFen)}, the model ${c.totalFen}`;
  if (fen(v.escrowFen) !== 0n) return `escrowFen ${String(v.escrowFen)} once every line is placed (C4: 0)`;
  return undefined;
}

/** C2: a preview changes nothing; its total and its refusal are those the checkout would meet now. */
export function checkoutPreview(w: World, body: Json): Outcome[] {
  const c = checkoutOf(body);
  if (!c) return [{ kind: 'refused', codes: ['validation_failed'] }];
  const repeat = firstRepeat(c);
  const pricing: Pricing = repeat === undefined ? price(w, c) : { ok: false, lineIndex: repeat, codes: ['validation_failed'] };
  const verify = (answer: unknown): string | undefined => {
    const v = obj(answer);
    const refusal = v.refusal === null ? null : obj(v.refusal);
    if (!pricing.ok) {
      if (!refusal || refusal.lineIndex !== pricing.lineIndex || !pricing.codes.includes(String(refusal.code))) return `refusal ${canonical(v.refusal)}, the model: line ${pricing.lineIndex} {${pricing.codes.join('|')}}`;
      return undefined;
    }
    if (fen(v.totalFen) !== pricing.totalFen) return `totalFen ${String(v.totalFen)}, the model ${pricing.totalFen}`;
    const short = c.funding.source === 'account' && balanceOf(w, `client:${c.clientId}`) < pricing.totalFen;
    if (short) return refusal?.code === 'insufficient_funds' && refusal.lineIndex === null ? undefined : `refusal ${canonical(v.refusal)}, the model: insufficient_funds`;
    return refusal === null ? undefined : `refusal ${canonical(v.refusal)}, the model: none`;
  };
  return [applied(w, `preview of ${c.lines.length} lines`, { statuses: [200], verify })];
}

/** C5: GET /v1/checkouts/{id} against the model (`view` undefined: 404). */
export function observeCheckout(w: World, id: string, view: unknown, diag: string[]): World[] {
  const c = w.checkouts[id];
  if (view === undefined) {
    if (!c) return [w];
    diag.push(`checkout ${id}: 404, the model has it ${c.status}`);
    return [];
  }
  if (!c) {
    diag.push(`checkout ${id}: the product has it, the model does not`);
    return [];
  }
  const v = obj(view);
  const problems: string[] = [];
  // A paid checkout may still be placing its lines when read; it completes (C4).
  const status = v.status === 'placing' && c.status === 'completed' ? 'completed' : v.status;
  if (status !== c.status) problems.push(`status ${String(v.status)}, the model ${c.status}`);
  if (c.status === 'completed') {
    if (fen(v.totalFen) !== c.totalFen) problems.push(`totalFen ${String(v.totalFen)}, the model ${c.totalFen}`);
    if (v.status === 'completed' && fen(v.escrowFen) !== 0n) problems.push(`escrowFen ${String(v.escrowFen)} (C4: 0 once every line is placed)`);
  } else {
    const f = v.failure === null || v.failure === undefined ? undefined : obj(v.failure);
    if (f?.code !== c.failure?.code || (f?.lineIndex ?? null) !== (c.failure?.lineIndex ?? null)) problems.push(`failure ${canonical(v.failure)}, the model ${canonical(c.failure)}`);
    if (fen(v.escrowFen) !== 0n || fen(v.totalFen) !== 0n) problems.push(`a refused checkout moved money: total ${String(v.totalFen)}, escrow ${String(v.escrowFen)} (C3)`);
  }
  if (problems.length === 0) return [w];
  diag.push(`checkout ${id}: ${problems.join('; ')}`);
  return [];
}
