/**
 * The simulation's reference model (SPEC §10 "checks every order against a reference model"),
 * written apart from `domain/`: it replays a lifecycle's exchanges over a SET of possible states
 * and reports where no state is consistent with what the product answered or shows.
 *
 * - Order of application. An exchange that ended before another started was applied before it;
 *   exchanges whose times overlap (a concurrent batch, a retry, a request whose answer was lost)
 *   may have been applied in any order: the model tries every order that respects the first rule
 *   (at most 4 concurrent commands: ≤ 24 orders) and keeps the states consistent with every answer.
 * - Answers. 2xx: applied; 4xx: refused with that code, nothing changed; 202: accepted by the
 *   workflow, decided in its place later (applied or refused, as the rules say); no answer, 5xx, or
 *   503 after retries: unknown (applied, or not at all). A repeat of an Idempotency-Key replays the
 *   first answer and never runs again; without a key a duplicate is just another command.
 * - Time. A command is decided at some instant of its exchange; a deadline set by it is due within
 *   that window plus the policy's duration, and fires by `timerLagMs` after it. A command whose
 *   window meets a deadline's may have lost the race (deadline_passed) or won: both are kept, and
 *   the answer (and any later read of the order, which shows the exact due time) decides.
 * - Reads (GET of an order or an account, and the order a command answers with) prune the states.
 */
import { balanceDue, canonical, emptyWorld, feeOf, isClosed, timerId, worldKey, type TaskM, type Timer, type Win, type World } from './model-world';
import { boostCompensation } from './model-money';
import {
  TASK_VERBS,
  boostOrder,
  combinedPayOne,
  combinedStart,
  fire,
  place,
  quotes,
  releaseRefund,
  taskCommand,
  topUp,
  videoStats,
  type ModelOptions,
  type Outcome,
  type TaskVerb,
} from './model-rules';
import { checkout, checkoutPreview, observeCheckout } from './model-checkout';
import type { Exchange, LifecycleRecord, SimHttp, SimPolicy, Violation } from './types';

export type { World } from './model-world';
export type { ModelOptions } from './model-rules';

/** More states than this after one step: the lifecycle is too ambiguous to check (reported). */
const MAX_WORLDS = 4096;
/** More steps than this to try the orders of one cluster of overlapping exchanges: the model gives up (reported). */
const MAX_CLUSTER_STEPS = 50_000;

export function modelOptions(policy: SimPolicy): ModelOptions {
  return {
    acceptanceMs: policy.acceptanceMs,
    balanceMs: policy.balanceMs,
    reviewMs: policy.reviewMs,
    answerMs: policy.cancellationAnswerMs,
    remindMs: policy.remindIntervalMs,
    boostPeriodMs: policy.boostPeriodMs ?? 14 * 86_400_000,
    lagMs: policy.timerLagMs ?? 3_000,
    marginMs: 250,
  };
}

// ── Answers ───────────────────────────────────────────────────────────────────────────────────
type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** SPEC §8: each code's status. */
const STATUS_OF: Record<string, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  idempotency_mismatch: 422,
  rate_limited: 429,
  unavailable: 503,
};
const statusOf = (code: string): number => STATUS_OF[code] ?? 409;

type Answer =
  | { readonly kind: 'ok'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'pending' } // 202: the workflow accepted it; decided in its place
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly lineIndex?: number | null }
  | { readonly kind: 'unknown' } // no answer, 5xx: applied or not
  | { readonly kind: 'in_progress' }; // the same Idempotency-Key is running: this one ran nothing

function classify(ex: Exchange): Answer {
  if (ex.status === 202) return { kind: 'pending' };
  if (ex.status >= 200 && ex.status < 300) return { kind: 'ok', status: ex.status, body: ex.response };
  if (ex.status >= 400 && ex.status < 500) {
    const error = obj(obj(ex.response).error);
    const code = typeof error.code === 'string' ? error.code : `http_${ex.status}`;
    if (code === 'invalid_state' && /Idempotency-Key is (still )?in progress/i.test(String(error.message))) return { kind: 'in_progress' };
    const lineIndex = obj(error.details).lineIndex;
    return { kind: 'refused', status: ex.status, code, lineIndex: typeof lineIndex === 'number' ? lineIndex : null };
  }
  return { kind: 'unknown' };
}

const describe = (o: Outcome): string => (o.kind === 'applied' ? `applied (${o.what})${o.statuses ? ` [${o.statuses.join('|')}]` : ''}` : `refused {${o.codes.join('|')}}`);

/** The worlds after `outcomes` that fit the answer; `diag` collects what the model expected when none does. */
function match(w: World, outcomes: readonly Outcome[], answer: Answer, diag: string[]): Array<{ world: World; applied: boolean }> {
  const out: Array<{ world: World; applied: boolean }> = [];
  switch (answer.kind) {
    case 'ok':
      for (const o of outcomes) {
        if (o.kind !== 'applied') continue;
        if (!(o.statuses ?? [200, 201]).includes(answer.status)) continue;
        const problem = o.verify?.(answer.body);
        if (problem) {
          diag.push(`${o.what}: ${problem}`);
          continue;
        }
        out.push({ world: o.world, applied: true });
      }
      break;
    case 'refused':
      if (statusOf(answer.code) !== answer.status) diag.push(`code ${answer.code} came with status ${answer.status} (SPEC §8: ${statusOf(answer.code)})`);
      else {
        // C3: a refusal names its line (details.lineIndex) where the model says which.
        const fits = outcomes.filter((o) => o.kind === 'refused' && o.codes.includes(answer.code) && (o.lineIndex === undefined || o.lineIndex === (answer.lineIndex ?? null)));
        for (const o of fits) out.push({ world: (o.kind === 'refused' ? o.world : undefined) ?? w, applied: false });
        const other = outcomes.find((o) => o.kind === 'refused' && o.codes.includes(answer.code) && o.lineIndex !== undefined);
        if (fits.length === 0 && other?.kind === 'refused') diag.push(`${answer.code} named line ${String(answer.lineIndex ?? null)}, the model line ${String(other.lineIndex)} (C3)`);
      }
      break;
    case 'pending':
      for (const o of outcomes) out.push(o.kind === 'applied' ? { world: o.world, applied: true } : { world: o.world ?? w, applied: false });
      break;
    case 'unknown':
      for (const o of outcomes) if (o.kind === 'applied') out.push({ world: o.world, applied: true });
      // A refusal that stores itself (C3: a refused checkout) may have happened unseen too.
      for (const o of outcomes) if (o.kind === 'refused' && o.world) out.push({ world: o.world, applied: false });
      out.push({ world: w, applied: false });
      break;
    case 'in_progress':
      out.push({ world: w, applied: false });
      break;
  }
  if (out.length === 0) diag.push(`expected ${outcomes.map(describe).join(' or ')}`);
  return out;
}

// ── Items: what each exchange does to the model ──────────────────────────────────────────────
interface Item {
  readonly id: number;
  readonly ex: number;
  readonly label: string;
  readonly orderId?: string;
  /** When it may have been applied relative to others: [request sent, answer received]. */
  readonly order: Win;
  /** When it may have been decided (a deadline it sets is due this much later). */
  readonly decision: Win;
  /** An item of the same exchange that comes first. */
  readonly after?: number;
  /** A read of the order a command answered with: only meaningful when nothing else overlaps. */
  readonly bodyObservation?: boolean;
  readonly apply: (w: World, diag: string[]) => World[];
}

const pathParts = (path: string): string[] => path.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);

function orderIdOf(ex: Exchange): string | undefined {
  const parts = pathParts(ex.path);
  const body = obj(ex.body);
  if (parts[1] === 'task-orders') return parts[2] ?? (typeof body.orderId === 'string' ? body.orderId : undefined);
  if (parts[1] === 'boost-orders') return parts[2] ?? (typeof body.boostOrderId === 'string' ? body.boostOrderId : undefined);
  if (parts[1] === 'checkouts' && parts[2] !== 'preview') return `checkout:${parts[2] ?? String(body.checkoutId)}`;
  if (parts[1] === 'ledger' && parts[2] === 'accounts') return parts[3];
  return undefined;
}

function labelOf(ex: Exchange, index: number): string {
  const code = obj(obj(ex.response).error).code;
  return `#${index} ${ex.method} ${ex.path} → ${ex.status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** Which roles may call a route (README "Authentication"): a role that may not is refused 403, nothing runs. */
function roleAllowed(ex: Exchange): boolean {
  const role = ex.role ?? 'backend';
  const parts = pathParts(ex.path);
  if (parts[1] === 'boost-orders' && parts[3] === 'release-refund') return role === 'finance' || role === 'ops';
  if (ex.method === 'GET' && (parts[1] === 'task-orders' || parts[1] === 'boost-orders' || parts[1] === 'checkouts')) return true;
  if (ex.method === 'GET' && parts[1] === 'ledger') return role === 'finance' || role === 'backend';
  return role === 'backend';
}

interface Builder {
  readonly m: ModelOptions;
  readonly reusedKeys: ReadonlySet<string>;
  readonly exchanges: readonly Exchange[];
  nextId: number;
}

function itemsOf(ex: Exchange, index: number, b: Builder): Item[] {
  const answer = classify(ex);
  const label = labelOf(ex, index);
  const orderId = orderIdOf(ex);
  // A request whose outcome came later (202), or not at all, may have been decided after its answer:
  // up to the timer lag later (a workflow whose worker or database is down decides when it is back).
  const late = answer.kind === 'pending' || answer.kind === 'unknown' ? b.m.lagMs : 0;
  const order: Win = { lo: ex.startedAtMs, hi: ex.endedAtMs + late };
  const decision: Win = order;
  const base = { ex: index, label, order, decision, ...(orderId === undefined ? {} : { orderId }) };
  const item = (apply: Item['apply'], extra: Partial<Pick<Item, 'after' | 'bodyObservation' | 'label'>> = {}): Item => ({ ...base, id: b.nextId++, apply, ...extra });
  const body = obj(ex.body);
  const parts = pathParts(ex.path);

  if (!roleAllowed(ex)) {
    return [item((w, diag) => (answer.kind === 'unknown' || (answer.kind === 'refused' && answer.code === 'forbidden') ? [w] : (diag.push(`the ${ex.role ?? 'backend'} role may not call this route: expected 403 forbidden`), [])))];
  }

  if (ex.method === 'GET') {
    if (answer.kind !== 'ok' && !(answer.kind === 'refused' && answer.code === 'not_found')) return [];
    const found = answer.kind === 'ok';
    if (parts[1] === 'task-orders' && parts[2] && !parts[3]) return [item((w, diag) => observeTask(w, parts[2]!, found ? ex.response : undefined, b.m, diag))];
    if (parts[1] === 'boost-orders' && parts[2] && !parts[3]) return [item((w, diag) => observeBoost(w, parts[2]!, found ? ex.response : undefined, diag))];
    if (parts[1] === 'checkouts' && parts[2] && !parts[3]) return [item((w, diag) => observeCheckout(w, parts[2]!, found ? ex.response : undefined, diag))];
    if (parts[1] === 'ledger' && parts[2] === 'accounts' && parts[3]) return [item((w, diag) => observeAccount(w, parts[3]!, found ? ex.response : undefined, diag))];
    return [];
  }

  // Idempotency-Key: a key used more than once runs once; the repeats replay its answer.
  const key = ex.idempotencyKey !== undefined && b.reusedKeys.has(`${ex.role ?? 'backend'}:${ex.idempotencyKey}`) ? `${ex.role ?? 'backend'}:${ex.idempotencyKey}` : undefined;
  const fingerprint = `${ex.method} ${ex.path} ${canonical(ex.body)}`;
  /**
   * `call` answered from a later attempt (sim/http.ts retries a 503 or a lost answer): an earlier
   * attempt may have been applied, its answer lost or a 503 (whose Idempotency-Key is not kept), and
   * the retry then ran on the state it left. Where the command is idempotent by content (T1, B3, L5,
   * B8) the retry answers its success again; where it is not, the retry is refused although the
   * command was applied — SPEC §8 says such a retry "runs once", so that answer is a finding.
   */
  const decideAndMatch = (w: World, decide: (w: World) => Outcome[], diag: string[]): Array<{ world: World; applied: boolean }> => {
    const first = decide(w);
    const direct = match(w, first, answer, diag);
    // Only an attempt with no answer, or a 5xx (not kept for the key), may have been applied unseen.
    const retried = (ex.earlierAttempts ?? []).some((a) => a.status === 0 || a.status >= 500);
    if (!retried || (answer.kind !== 'ok' && answer.kind !== 'refused')) return direct;
    const viaEarlier: Array<{ world: World; applied: boolean }> = [];
    for (const o of first) {
      if (o.kind !== 'applied' || o.world === w) continue;
      const again = decide(o.world);
      const fits = match(o.world, again, answer, []);
      if (answer.kind === 'refused' && fits.length > 0) {
        diag.push(`an earlier attempt of this retried request was applied (${o.what}); the retry answered ${answer.status} ${answer.code} instead of the outcome of that one run (SPEC §8: retried with its Idempotency-Key it runs once)`);
        continue;
      }
      viaEarlier.push(...fits.map((r) => ({ world: r.world, applied: true })));
    }
    return [...direct, ...viaEarlier];
  };
  const keyed = (decide: (w: World) => Outcome[]) => (w: World, diag: string[]): World[] => {
    if (!key) return decideAndMatch(w, decide, diag).map((r) => r.world);
    const run = w.keys[key];
    if (!run) {
      // The key is claimed when its first request starts, not when its command is decided: a repeat
      // may be answered "in progress" (or 422 for another request) while a first one that answered
      // 202, or none, is still to be decided (seed 18103: a 422 between a 202 and the read after it).
      if (answer.kind === 'in_progress' || (answer.kind === 'refused' && answer.code === 'idempotency_mismatch')) {
        const holder = b.exchanges.findIndex((other, j) => j !== index && `${other.role ?? 'backend'}:${other.idempotencyKey}` === key && other.startedAtMs <= ex.endedAtMs && (answer.kind === 'in_progress' || `${other.method} ${other.path} ${canonical(other.body)}` !== fingerprint));
        if (holder >= 0) return [w];
        diag.push(`${answer.kind === 'in_progress' ? '"in progress"' : '422'} for ${key}, but no other request with it had started`);
        return [];
      }
      return decideAndMatch(w, decide, diag).map(({ world, applied }) => {
        const next = world === w ? structuredClone(w) : world;
        next.keys[key] = { applied, ex: index };
        return next;
      });
    }
    const first = b.exchanges[run.ex]!;
    if (`${first.method} ${first.path} ${canonical(first.body)}` !== fingerprint) {
      if (answer.kind === 'unknown' || (answer.kind === 'refused' && answer.code === 'idempotency_mismatch')) return [w];
      diag.push(`the Idempotency-Key of #${run.ex} with another request: expected 422 idempotency_mismatch`);
      return [];
    }
    if (answer.kind === 'in_progress' || answer.kind === 'unknown') {
      // Not answered: it replayed, waited, or — if the first never ran — ran now.
      return run.applied ? [w] : [w, ...match(w, decide(w), { kind: 'unknown' }, diag).map((r) => r.world)];
    }
    const firstAnswer = classify(first);
    if (firstAnswer.kind === 'ok' || firstAnswer.kind === 'refused' || firstAnswer.kind === 'pending') {
      if (first.status === ex.status && canonical(first.response) === canonical(ex.response)) return [w];
      diag.push(`a repeat of #${run.ex}'s Idempotency-Key must replay its answer ${first.status}: got ${ex.status}`);
      return [];
    }
    if (run.applied) {
      if (answer.kind === 'ok' || answer.kind === 'pending') return [w];
      diag.push(`#${run.ex} (same Idempotency-Key) was applied here: a repeat replays a success`);
      return [];
    }
    // The first one did not run (or its refusal is replayed): decide it now; a refusal changes nothing.
    if (answer.kind === 'refused') return [w];
    return match(w, decide(w), answer, diag).map((r) => r.world);
  };

  // Observations of the order a 2xx command answered with (the order right after it).
  const viewObservation = (id: string, after: number): Item[] =>
    answer.kind === 'ok' && obj(ex.response).orderId === id
      ? [item((w, diag) => observeTask(w, id, ex.response, b.m, diag), { after, bodyObservation: true, label: `${label} (its answer)` })]
      : [];

  if (parts[1] === 'task-orders' && parts.length === 2) {
    const first = item(keyed((w) => place(w, body, b.m, decision)));
    return [first, ...viewObservation(String(body.orderId), first.id)];
  }
  if (parts[1] === 'task-orders' && parts.length === 4 && (TASK_VERBS as readonly string[]).includes(parts[3]!)) {
    const first = item(keyed((w) => taskCommand(w, parts[2]!, parts[3] as TaskVerb, body, b.m, decision)));
    return [first, ...viewObservation(parts[2]!, first.id)];
  }
  if (parts[1] === 'clients' && parts[3] === 'top-ups') {
    const amount = typeof body.amountFen === 'number' ? BigInt(body.amountFen) : 0n;
    return [item(keyed((w) => topUp(w, parts[2]!, String(body.paymentRef), amount)))];
  }
  if (parts[1] === 'balance-payments') return combinedItems(ex, index, answer, body, key, b, item);
  if (parts[1] === 'video-stats') return [item(keyed((w) => videoStats(w, body, decision)))];
  if (parts[1] === 'boost-quotes') return [item(keyed((w) => quotes(w, body, ex.response)))];
  if (parts[1] === 'boost-orders' && parts.length === 2) {
    const id = String(body.boostOrderId);
    const first = item(keyed((w) => boostOrder(w, body, decision)));
    const observe = answer.kind === 'ok' && obj(ex.response).boostOrderId === id ? [item((w, diag) => observeBoost(w, id, ex.response, diag), { after: first.id, bodyObservation: true, label: `${label} (its answer)` })] : [];
    return [first, ...observe];
  }
  if (parts[1] === 'checkouts' && parts[2] === 'preview') return [item(keyed((w) => checkoutPreview(w, body)))];
  if (parts[1] === 'checkouts' && parts.length === 2) return [item(keyed((w) => checkout(w, body, b.m, decision)))];
  if (parts[1] === 'boost-orders' && parts[3] === 'release-refund') return [item(keyed((w) => releaseRefund(w, parts[2]!, ex.role ?? 'backend')))];
  return [];
}

/**
 * T14: a combined payment is a top-up (external funding) then one payment per order, each its own
 * step, so two concurrent combined payments may interleave. The answer says, per order, which.
 * A repeat of an Idempotency-Key already used replays the first answer and runs nothing.
 */
function combinedItems(ex: Exchange, index: number, answer: Answer, body: Json, key: string | undefined, b: Builder, item: (apply: Item['apply'], extra?: Partial<Pick<Item, 'after' | 'bodyObservation' | 'label'>>) => Item): Item[] {
  const clientId = String(body.clientId);
  const orderIds = Array.isArray(body.orderIds) ? body.orderIds.map(String) : [];
  const results = Array.isArray(obj(ex.response).results) ? (obj(ex.response).results as unknown[]).map(obj) : [];
  const isRepeat = (w: World) => key !== undefined && w.keys[key] !== undefined && w.keys[key]!.ex !== index;
  const retried = (ex.earlierAttempts ?? []).some((a) => a.status === 0 || a.status >= 500);
  const start = item((w, diag) => {
    const run = key ? w.keys[key] : undefined;
    if (run) {
      const first = b.exchanges[run.ex]!;
      if (answer.kind === 'in_progress' || answer.kind === 'unknown') return [w];
      if (canonical(first.body) !== canonical(ex.body)) return answer.kind === 'refused' && answer.code === 'idempotency_mismatch' ? [w] : (diag.push('the same Idempotency-Key with another body: expected 422'), []);
      if (first.status === ex.status && canonical(first.response) === canonical(ex.response)) return [w];
      if (classify(first).kind === 'unknown' && !run.applied && answer.kind !== 'ok') return [w];
      diag.push(`a repeat of #${run.ex}'s Idempotency-Key must replay its answer ${first.status}: got ${ex.status}`);
      return [];
    }
    if (key && answer.kind === 'in_progress') {
      diag.push(`"in progress" for ${key}, but no request with it ran before in this order`);
      return [];
    }
    const outcomes = combinedStart(w, body).map((o) => (o.kind === 'applied' ? { ...o, statuses: [200] } : o));
    const asStart: Answer = answer.kind === 'ok' ? { kind: 'ok', status: 200, body: undefined } : answer.kind === 'pending' ? { kind: 'unknown' } : answer;
    return match(w, outcomes, asStart, diag).map(({ world, applied }) => {
      if (!key) return world;
      const copy = world === w ? structuredClone(world) : world;
      copy.keys[key] = { applied, ex: index };
      return copy;
    });
  });
  if (answer.kind === 'refused' || answer.kind === 'in_progress') return [start];
  let previous = start.id;
  const steps = orderIds.map((orderId) => {
    const step = item(
      (w, diag) => {
        if (isRepeat(w)) return [w];
        const outcomes = combinedPayOne(w, clientId, orderId);
        if (answer.kind !== 'ok') return match(w, outcomes, { kind: 'unknown' }, diag).map((r) => r.world);
        const result = results.find((r) => r.orderId === orderId);
        if (!result) {
          diag.push(`no result for ${orderId}`);
          return [];
        }
        if (result.outcome === 'not_paid') return match(w, outcomes, { kind: 'refused', status: statusOf(String(result.code)), code: String(result.code) }, diag).map((r) => r.world);
        // A retried call whose earlier attempt paid the order (its answer lost): "already_paid" now (T14).
        const paidEarlier = retried && result.outcome === 'already_paid' ? outcomes.map((o) => (o.kind === 'applied' ? { ...o, verify: undefined } : o)) : outcomes;
        return match(w, paidEarlier, { kind: 'ok', status: 200, body: result }, diag).map((r) => r.world);
      },
      { after: previous, label: `${labelOf(ex, index)} (${orderId})` },
    );
    previous = step.id;
    return step;
  });
  return [start, ...steps];
}

// ── Observations ──────────────────────────────────────────────────────────────────────────────
const DEADLINE_KINDS: Record<string, Timer['kind']> = { acceptance: 'acceptance', balance: 'balance', review: 'review', cancellation_answer: 'answer' };

/** A read of a task order (GET, or a command's answer) against one world; the world, its timers made exact. */
function observeTask(w: World, orderId: string, view: unknown, m: ModelOptions, diag: string[]): World[] {
  const t = w.tasks[orderId];
  if (view === undefined) {
    if (!t) return [w];
    diag.push(`${orderId}: 404, the model has it ${t.status}`);
    return [];
  }
  if (!t) {
    diag.push(`${orderId}: the product has it, the model does not (T5: a refused placement leaves nothing)`);
    return [];
  }
  const v = obj(view);
  const problems = diffTask(t, v);
  // The read shows each pending deadline's exact due time: it must lie where the model put it.
  const next = structuredClone(w);
  const shown = Array.isArray(v.deadlines) ? (v.deadlines as unknown[]).map(obj) : [];
  for (const kind of ['acceptance', 'balance', 'review', 'answer'] as const) {
    const timer = next.timers.find((x) => x.kind === kind && x.id === orderId);
    const deadline = shown.find((d) => DEADLINE_KINDS[String(d.kind)] === kind);
    if (!timer && !deadline) continue;
    if (!timer || !deadline) {
      problems.push(`${kind} deadline: product ${deadline ? String(deadline.at) : 'none'}, model ${timer ? `due ${iso(timer.lo)}…${iso(timer.hi)}` : 'none'}`);
      continue;
    }
    const at = Date.parse(String(deadline.at));
    if (at < timer.lo - m.marginMs || at > timer.hi + m.marginMs) problems.push(`${kind} deadline at ${String(deadline.at)}, model ${iso(timer.lo)}…${iso(timer.hi)}`);
    else {
      timer.lo = at;
      timer.hi = at;
    }
  }
  if (problems.length > 0) {
    diag.push(`${orderId}: ${problems.join('; ')}`);
    return [];
  }
  return [next];
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
const num = (v: unknown): bigint | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined);

function diffTask(t: TaskM, v: Json): string[] {
  const problems: string[] = [];
  const same = (name: string, product: unknown, model: unknown) => {
    if (canonical(product) !== canonical(model)) problems.push(`${name}: product ${canonical(product)}, model ${canonical(model)}`);
  };
  same('status', v.status, t.status);
  same('cancelReason', v.cancelReason ?? null, t.cancelReason ?? null);
  same('priceFen', num(v.priceFen), t.priceFen);
  same('originalPriceFen', num(v.originalPriceFen), t.originalPriceFen);
  same('serviceFeeFen', num(v.serviceFeeFen), feeOf(t));
  same('depositFen', num(v.depositFen), t.depositFen);
  same('paidInFen', num(v.paidInFen), t.paidInFen);
  same('escrowFen', num(v.escrowFen), t.escrowFen);
  same('balanceDueFen', num(v.balanceDueFen), balanceDue(t));
  same('uploads', v.uploads, t.uploads);
  if (!isClosed(t)) {
    const pending = v.pendingCancellation ? obj(v.pendingCancellation) : undefined;
    same('pendingCancellation', pending ? { by: obj(pending.by).type, escalated: pending.escalated } : null, t.pending ? { by: t.pending.by, escalated: t.pending.escalated } : null);
  }
  if (isClosed(t) && t.settlement) {
    const s = obj(v.settlement);
    same('settlement', { refundFen: num(s.refundFen), creatorFen: num(s.creatorFen), serviceFeeFen: num(s.serviceFeeFen), forfeitedFen: num(s.forfeitedFen) }, t.settlement);
  }
  return problems;
}

function observeBoost(w: World, id: string, view: unknown, diag: string[]): World[] {
  const b = w.boosts[id];
  if (view === undefined) {
    if (!b) return [w];
    diag.push(`boost ${id}: 404, the model has it ${b.status}`);
    return [];
  }
  if (!b) {
    diag.push(`boost ${id}: the product has it, the model does not`);
    return [];
  }
  const v = obj(view);
  const problems: string[] = [];
  const same = (name: string, product: unknown, model: unknown) => {
    if (canonical(product) !== canonical(model)) problems.push(`${name}: product ${canonical(product)}, model ${canonical(model)}`);
  };
  same('status', v.status, b.status);
  same('endReason', v.endReason ?? null, b.endReason ?? null);
  same('escrowFen', num(v.escrowFen), b.escrowFen);
  same('boostFeeFen', num(v.boostFeeFen), b.feeFen);
  same('expectedViews', v.expectedViews, b.expectedViews);
  const e = v.evaluation ? obj(v.evaluation) : undefined;
  same('evaluation', e ? { actualViews: e.actualViews, succeeded: e.succeeded, compensationFen: num(e.compensationFen) } : null, b.evaluation ?? null);
  const r = v.refund ? obj(v.refund) : undefined;
  same('refund', r ? { amountFen: num(r.amountFen), posted: r.postedAt !== null && r.postedAt !== undefined } : null, b.refundFen !== undefined ? { amountFen: b.refundFen, posted: b.refundPosted } : null);
  same('video', v.video ? obj(v.video).videoId : null, b.video?.videoId ?? null);
  // B5: the compensation "if it ended now" is B6's with the views so far.
  const p = v.progress ? obj(v.progress) : undefined;
  const ifNow = p?.ifEndedNow ? obj(p.ifEndedNow) : undefined;
  if (p && ifNow && typeof p.viewsSoFar === 'number' && !b.evaluation) {
    same('progress.ifEndedNow.compensationFen', num(ifNow.compensationFen), boostCompensation(b.expectedViews, p.viewsSoFar, b.priceFen, b.feeFen));
  }
  if (problems.length > 0) {
    diag.push(`boost ${id}: ${problems.join('; ')}`);
    return [];
  }
  return [w];
}

/** F1: an account's balance; `view` undefined: 404, no transfer ever touched it (so its balance is 0). */
function observeAccount(w: World, account: string, view: unknown, diag: string[]): World[] {
  if (view === undefined && (account.startsWith('platform:') || account.startsWith('external:'))) {
    diag.push(`${account}: 404, but a system account always exists (F1)`);
    return [];
  }
  const product = view === undefined ? 0n : num(obj(view).balanceFen);
  let model: bigint | undefined;
  if (account.startsWith('client:') || account.startsWith('creator:')) model = w.accounts[account] ?? 0n;
  else if (account.startsWith('escrow:task:')) model = w.tasks[account.slice('escrow:task:'.length)]?.escrowFen ?? 0n;
  else if (account.startsWith('escrow:boost:')) model = w.boosts[account.slice('escrow:boost:'.length)]?.escrowFen ?? 0n;
  else if (account.startsWith('escrow:checkout:')) model = 0n; // C4: every line placed (the model places them at once) or nothing paid
  if (model === undefined || product === model) return [w];
  diag.push(`${account}: balance ${String(product)}, model ${model}`);
  return [];
}

// ── Time: the timers that fire before an item is decided ────────────────────────────────────
/** Every way the world's timers may have fired by a decision within `win`. */
function advance(w: World, win: Win, m: ModelOptions): World[] {
  const out: World[] = [];
  const rec = (cur: World, skipped: readonly string[]) => {
    const due = cur.timers
      .filter((t) => !skipped.includes(timerId(t)) && t.lo <= win.hi + m.marginMs)
      .sort((a, b) => a.lo - b.lo || timerId(a).localeCompare(timerId(b)));
    const t = due[0];
    if (!t) {
      out.push(cur);
      return;
    }
    rec(fire(cur, t, m), skipped);
    if (t.hi + m.lagMs >= win.lo - m.marginMs) rec(cur, [...skipped, timerId(t)]); // may not have fired yet
  };
  rec(w, []);
  return out;
}

/** Every timer fired, one after the other (what the orders come to if nothing else happens). */
export function settle(w: World, m: ModelOptions): World {
  let cur = w;
  for (let i = 0; i < 100 && cur.timers.length > 0; i += 1) {
    const next = [...cur.timers].sort((a, b) => a.lo - b.lo || timerId(a).localeCompare(timerId(b)))[0]!;
    cur = fire(cur, next, m);
  }
  return cur;
}

// ── Replay ────────────────────────────────────────────────────────────────────────────────────
export interface ReplayResult {
  /** The states consistent with everything seen (empty after a divergence). */
  readonly worlds: readonly World[];
  /** The states just before the divergence, if any. */
  readonly before: readonly World[];
  readonly violation?: Violation;
  /** Items applied (commands, their sub-steps and reads). */
  readonly steps: number;
}

interface Failure {
  depth: number;
  item: Item;
  diag: string[];
  prefix: string[];
}

/**
 * Applies items to sets of states, each (item, state) pair worked out once whatever order led to it
 * (states interned by their key); remembers the deepest failure for the report.
 */
class ClusterStepper {
  failure: Failure | undefined;
  private readonly ids = new Map<string, number>();
  private readonly applied = new Map<string, { readonly reached: ReadonlyArray<readonly [number, World]>; readonly diag: readonly string[] }>();

  constructor(private readonly m: ModelOptions) {}

  idOf(w: World): number {
    const key = worldKey(w);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    this.ids.set(key, this.ids.size);
    return this.ids.size - 1;
  }

  states(worlds: readonly World[]): Map<number, World> {
    return new Map(worlds.map((w) => [this.idOf(w), w]));
  }

  step(ws: ReadonlyMap<number, World>, item: Item, prefix: string[]): Map<number, World> {
    const diag: string[] = [];
    const next = new Map<number, World>();
    for (const [id, w0] of ws) {
      let pair = this.applied.get(`${item.id}:${id}`);
      if (!pair) {
        const own: string[] = [];
        pair = { reached: advance(w0, item.decision, this.m).flatMap((w1) => item.apply(w1, own)).map((w) => [this.idOf(w), w] as const), diag: own };
        this.applied.set(`${item.id}:${id}`, pair);
      }
      diag.push(...pair.diag);
      for (const [k, w] of pair.reached) if (next.size < MAX_WORLDS) next.set(k, w);
    }
    if (next.size === 0 && (!this.failure || prefix.length >= this.failure.depth)) this.failure = { depth: prefix.length, item, diag: [...new Set(diag)], prefix };
    return next;
  }
}

/** An item may go next when the item of its exchange it follows is done and nothing left answered before it was sent. */
function readyNext(item: Item, remaining: readonly Item[]): boolean {
  return (
    (item.after === undefined || !remaining.some((r) => r.id === item.after)) &&
    !remaining.some((r) => r !== item && r.ex !== item.ex && r.order.hi <= item.order.lo)
  );
}

/**
 * Every admissible order of the items, breadth first over the sets of items applied so far: the
 * orders that applied the same items meet at one entry holding the union of their states (applying
 * an item is state by state, so the union is exact). It costs the number of such sets, which the
 * answers' time windows bound, not the number of orders: seed 7771's l242 (13 overlapping
 * exchanges, 7 of them 503s that may have been applied up to the timer lag later) gave up after
 * 50 000 steps of an order-by-order search and blocked the event loop for 164 s; it takes 2 803
 * steps now. The states after all items, or undefined past MAX_CLUSTER_STEPS.
 */
function everyOrder(items: readonly Item[], start: Map<number, World>, stepper: ClusterStepper): Map<number, World> | undefined {
  interface Entry {
    readonly remaining: readonly Item[];
    readonly worlds: Map<number, World>;
    /** The first order found to reach this entry (for the report). */
    readonly prefix: string[];
  }
  const keyOf = (remaining: readonly Item[]) => remaining.map((r) => r.id).join(',');
  let frontier = new Map<string, Entry>([[keyOf(items), { remaining: items, worlds: start, prefix: [] }]]);
  let steps = 0;
  for (let depth = 0; depth < items.length && frontier.size > 0; depth += 1) {
    const next = new Map<string, Entry>();
    for (const entry of frontier.values()) {
      for (const item of entry.remaining) {
        if (!readyNext(item, entry.remaining)) continue;
        if (++steps > MAX_CLUSTER_STEPS) return undefined;
        const reached = stepper.step(entry.worlds, item, entry.prefix);
        if (reached.size === 0) continue;
        const remaining = entry.remaining.filter((r) => r !== item);
        const key = keyOf(remaining);
        let target = next.get(key);
        if (!target) {
          target = { remaining, worlds: new Map(), prefix: [...entry.prefix, item.label] };
          next.set(key, target);
        }
        for (const [k, w] of reached) if (target.worlds.size < MAX_WORLDS) target.worlds.set(k, w);
      }
    }
    frontier = next;
  }
  return frontier.get('')?.worlds ?? new Map();
}

/** Applies one cluster of overlapping items in every admissible order; the union of the outcomes. */
function runCluster(worlds: readonly World[], items: readonly Item[], m: ModelOptions): { worlds: World[]; failure?: Failure } {
  const stepper = new ClusterStepper(m);
  const out = everyOrder(items, stepper.states(worlds), stepper);
  if (out === undefined) {
    return { worlds: [], failure: { depth: 0, item: items[0]!, diag: [`the model gave up after ${MAX_CLUSTER_STEPS} steps over the orders of ${items.length} overlapping items (too ambiguous to check)`], prefix: [] } };
  }
  if (out.size > 0) return { worlds: [...out.values()] };
  // Attribution: where the order in which the requests were sent (the client's view) first fails.
  stepper.failure = undefined;
  let ws = stepper.states(worlds);
  const prefix: string[] = [];
  for (const item of [...items].sort((a, b) => a.order.lo - b.order.lo || a.id - b.id)) {
    ws = stepper.step(ws, item, prefix);
    if (ws.size === 0) break;
    prefix.push(item.label);
  }
  return { worlds: [], ...(stepper.failure ? { failure: stepper.failure } : {}) };
}

/** Groups items whose order windows overlap (each group starts after everything before it ended). */
function clusters(items: readonly Item[]): Item[][] {
  const sorted = [...items].sort((a, b) => a.order.lo - b.order.lo || a.id - b.id);
  const groups: Item[][] = [];
  let current: Item[] = [];
  let end = -Infinity;
  for (const item of sorted) {
    if (current.length > 0 && item.order.lo >= end) {
      groups.push(current);
      current = [];
    }
    current.push(item);
    end = Math.max(end, item.order.hi);
  }
  if (current.length > 0) groups.push(current);
  // A command's answer is a read of the order right after it only when nothing else overlapped it.
  return groups.map((g) => (new Set(g.map((i) => i.ex)).size > 1 ? g.filter((i) => !i.bodyObservation) : g));
}

/** Replays a lifecycle's exchanges through the model. */
export function replay(exchanges: readonly Exchange[], policy: SimPolicy): ReplayResult {
  const m = modelOptions(policy);
  const keyCounts = new Map<string, number>();
  for (const ex of exchanges) {
    if (ex.method !== 'POST' || ex.idempotencyKey === undefined) continue;
    const k = `${ex.role ?? 'backend'}:${ex.idempotencyKey}`;
    keyCounts.set(k, (keyCounts.get(k) ?? 0) + 1);
  }
  const builder: Builder = { m, reusedKeys: new Set([...keyCounts].filter(([, n]) => n > 1).map(([k]) => k)), exchanges, nextId: 0 };
  const items = exchanges.flatMap((ex, i) => itemsOf(ex, i, builder));
  let worlds: World[] = [emptyWorld()];
  let steps = 0;
  let capped = false;
  for (const group of clusters(items)) {
    const result = runCluster(worlds, group, m);
    if (result.worlds.length === 0) {
      const f = result.failure;
      const exs = [...new Set(group.map((i) => i.ex))];
      const concurrent = exs.length > 1 ? `no order of application of the concurrent exchanges ${exs.map((e) => `#${e}`).join(', ')} fits their answers; ` : '';
      const after = f && f.prefix.length > 0 ? ` (in the order they were sent, after ${[...new Set(f.prefix.map((p) => p.split(' ')[0]))].join(', ')})` : '';
      const violation: Violation = {
        invariant: 'model',
        ...(f?.item.orderId ?? group[0]?.orderId ? { orderId: (f?.item.orderId ?? group[0]?.orderId)! } : {}),
        step: f?.item.label ?? group[0]!.label,
        message: `${concurrent}${f ? `${f.item.label}${after}: ${f.diag.join('; ') || 'no state fits'}` : 'no state fits'}${capped ? ` (the model kept only ${MAX_WORLDS} states)` : ''}`,
      };
      return { worlds: [], before: worlds, violation, steps };
    }
    steps += group.length;
    worlds = result.worlds;
    if (worlds.length >= MAX_WORLDS) capped = true;
  }
  return { worlds, before: worlds, steps };
}

/**
 * O1: the stuck-list entries the lifecycle's orders may rightly show once every pending deadline
 * has fired: a cancellation request nobody answered (T22: `awaiting_arbitration`) and a boost
 * evaluation with no view count (B8: `awaiting_stats`).
 */
export function expectedStuck(worlds: readonly World[], policy: SimPolicy): Array<{ orderId: string; reasons: string[]; required: string[] }> {
  const m = modelOptions(policy);
  const reasons = new Map<string, Set<string>>();
  const add = (orderId: string, reason: string) => reasons.set(orderId, (reasons.get(orderId) ?? new Set()).add(reason));
  // An entry every possible state implies (now and after every pending timer, in every world) must
  // be on the list; one some state implies may be.
  let required: Set<string> | undefined;
  for (const w0 of worlds) {
    // Now, and after every pending timer: both may be what the stuck list shows when it is read.
    for (const w of [w0, settle(w0, m)]) {
      const here = new Set<string>();
      for (const t of Object.values(w.tasks)) if (t.pending?.escalated && !isClosed(t)) here.add(`${t.id}\u0000awaiting_arbitration`);
      for (const b of Object.values(w.boosts)) if (b.status === 'evaluating') here.add(`${b.id}\u0000awaiting_stats`);
      for (const entry of here) add(...(entry.split('\u0000') as [string, string]));
      required = required === undefined ? here : new Set([...required].filter((e) => here.has(e)));
    }
  }
  const must = required ?? new Set<string>();
  return [...reasons].map(([orderId, set]) => ({
    orderId,
    reasons: [...set].sort(),
    required: [...set].filter((reason) => must.has(`${orderId}\u0000${reason}`)).sort(),
  }));
}

/**
 * E3: the notifications each possible state implies, once the lifecycle is over: in every world,
 * now and after each of its pending timers fired in turn (the product may be anywhere on that path
 * when it is read). Each candidate counts notifications by `order|kind|recipient`; the product's
 * must equal one of them, both ways (nothing missing, nothing more).
 */
export function impliedNotifications(worlds: readonly World[], policy: SimPolicy): Array<Record<string, number>> {
  const m = modelOptions(policy);
  const seen = new Map<string, Record<string, number>>();
  const keep = (w: World) => seen.set(canonical(w.notes), w.notes);
  for (const w0 of worlds) {
    let cur = w0;
    keep(cur);
    for (let i = 0; i < 100 && cur.timers.length > 0; i += 1) {
      const next = [...cur.timers].sort((a, b) => a.lo - b.lo || timerId(a).localeCompare(timerId(b)))[0]!;
      cur = fire(cur, next, m);
      keep(cur);
    }
  }
  return [...seen.values()];
}

/** The accounts a lifecycle's model touched: every client and creator, every order's escrow. */
function accountsOf(record: LifecycleRecord, worlds: readonly World[]): string[] {
  const accounts = new Set<string>();
  for (const w of worlds) {
    for (const name of Object.keys(w.accounts)) accounts.add(name);
    for (const t of Object.values(w.tasks)) {
      accounts.add(`client:${t.clientId}`);
      accounts.add(`creator:${t.creatorId}`);
      accounts.add(`escrow:task:${t.id}`);
    }
    for (const b of Object.values(w.boosts)) accounts.add(`escrow:boost:${b.id}`);
    for (const c of Object.values(w.checkouts)) accounts.add(`escrow:checkout:${c.id}`);
  }
  for (const ex of record.exchanges) {
    const parts = pathParts(ex.path);
    if (parts[1] === 'clients' && parts[2]) accounts.add(`client:${parts[2]}`);
  }
  return [...accounts].sort();
}

/**
 * SPEC §10: every order of the lifecycle against the model. Replays the record; then reads each
 * task order, boost order and account (as the backend, which may read all of them) and reports a
 * violation where no possible state of the model matches the product: the step where they
 * diverged, or `final …` with what differs.
 */
export async function checkLifecycle(record: LifecycleRecord, http: SimHttp, policy: SimPolicy | undefined = record.policy): Promise<Violation[]> {
  if (!policy) return [{ invariant: 'model', message: `${record.label}: the record carries no policy and none was given` }];
  const first = replay(record.exchanges, policy);
  if (first.violation) return [{ ...first.violation, message: `${record.label}: ${first.violation.message}` }];
  const reads: Exchange[] = [];
  const read = async (path: string) => {
    const ex = await http.call('GET', path);
    reads.push({ ...ex, role: 'backend' });
  };
  const taskIds = new Set([...record.taskOrderIds, ...first.worlds.flatMap((w) => Object.keys(w.tasks))]);
  const boostIds = new Set([...record.boostOrderIds, ...first.worlds.flatMap((w) => Object.keys(w.boosts))]);
  for (const id of [...taskIds].sort()) await read(`/v1/task-orders/${encodeURIComponent(id)}`);
  for (const id of [...boostIds].sort()) await read(`/v1/boost-orders/${encodeURIComponent(id)}`);
  const checkoutIds = new Set([...(record.checkoutIds ?? []), ...first.worlds.flatMap((w) => Object.keys(w.checkouts))]);
  for (const id of [...checkoutIds].sort()) await read(`/v1/checkouts/${encodeURIComponent(id)}`);
  for (const account of accountsOf(record, first.worlds)) await read(`/v1/ledger/accounts/${encodeURIComponent(account)}`);
  const unread = reads.filter((ex) => ex.status !== 200 && ex.status !== 404);
  const all = [...record.exchanges, ...reads.filter((ex) => ex.status === 200 || ex.status === 404)];
  const second = replay(all, policy);
  const violations: Violation[] = unread.map((ex) => ({ invariant: 'model', step: `final ${ex.path}`, message: `${record.label}: could not read ${ex.path} (${ex.status})` }));
  if (second.violation) {
    const isFinal = second.violation.step !== undefined && Number(/^#(\d+)/.exec(second.violation.step)?.[1] ?? -1) >= record.exchanges.length;
    const lastOnOrder = isFinal && second.violation.orderId ? lastCommandOn(record, second.violation.orderId) : undefined;
    violations.push({
      ...second.violation,
      step: isFinal ? `final ${second.violation.step ?? ''}` : (second.violation.step ?? ''),
      message: `${record.label}: ${second.violation.message}${lastOnOrder ? ` (the last command on it: ${lastOnOrder})` : ''}`,
    });
  }
  return violations;
}

function lastCommandOn(record: LifecycleRecord, id: string): string | undefined {
  const plain = id.replace(/^(escrow:task:|escrow:boost:)/, '');
  for (let i = record.exchanges.length - 1; i >= 0; i -= 1) {
    const ex = record.exchanges[i]!;
    if (ex.method === 'POST' && (ex.path.includes(`/${plain}`) || canonical(ex.body).includes(`"${plain}"`))) return labelOf(ex, i);
  }
  return undefined;
}
