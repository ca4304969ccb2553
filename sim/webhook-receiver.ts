/**
 * The simulation's webhook receiver (SPEC E5, §10 "Proof"): what the main backend runs, on
 * 127.0.0.1 in the simulation's own process (node:http). It verifies every delivery with the
 * independent `standardwebhooks` package, records each one as it arrived, and — on a schedule
 * drawn from the run's seed (sim/rng.ts) — has bad spells: it answers 500, or it stalls past the
 * delivery timeout (then drops the connection), so the loop retries while workers are killed.
 * `heal()` ends the bad spells (the run is winding down: quiescence waits for every delivery).
 *
 * With `hostile` (SPEC §10 "Hostile peers", issue 18) it is a second endpoint's receiver whose bad
 * spells are of another kind: it answers 200 with NUL bytes and binary in the body (what
 * PostgreSQL refuses as text), or answers slowly — 0.5 to 1.5 times the delivery timeout, so some
 * answers arrive in time and the others find the sender gone (a timeout).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Rng } from './types';

/** How the receiver treats a delivery that arrives now. */
export type ReceiverMode = 'ok' | 'error' | 'stall' | 'nul' | 'slow';

/** One spell of the receiver's seeded schedule. */
export interface ReceiverSpell {
  readonly mode: ReceiverMode;
  readonly durationMs: number;
}

/** One delivery as the receiver saw it. `seq` numbers arrivals and answers in one sequence. */
export interface Arrival {
  readonly seq: number;
  readonly webhookId: string;
  readonly body: string;
  readonly arrivedAtMs: number;
  /** null when the signature verified, else why not (standardwebhooks' message). */
  readonly signatureError: string | null;
  readonly mode: ReceiverMode;
  /** The answer's status (0: none, the connection was dropped or cut off). */
  status: number;
  /** `seq` of the answer (a 2xx answer orders later sends of the order: sim/invariants.ts). */
  answeredSeq: number | null;
  /** The sender closed the connection before any answer, this long after the arrival (a killed worker, or its timeout). */
  cutOffAfterMs: number | null;
}

export interface ReceiverOptions {
  readonly rng: Rng;
  /** The delivery loop's timeout: a stall lasts longer than it. */
  readonly deliveryTimeoutMs: number;
  /** In a healthy spell, the chance that one delivery still gets a 500. */
  readonly errorChance?: number;
  /** Bad spells of NUL-byte bodies and slow answers instead of 500s and stalls (hostileSchedule). */
  readonly hostile?: boolean;
}

/** Healthy 2–8 s, then 500s or stalls for 0.5–3 s; repeated. Pure given its generator. */
export function receiverSchedule(rng: Rng): () => ReceiverSpell {
  let healthy = false;
  return () => {
    healthy = !healthy;
    if (healthy) return { mode: 'ok', durationMs: rng.int(2_000, 8_000) };
    return { mode: rng.chance(0.5) ? 'error' : 'stall', durationMs: rng.int(500, 3_000) };
  };
}

/** A hostile receiver's spells: healthy 2–6 s, then NUL-byte answers or slow answers for 1–4 s; repeated. */
export function hostileSchedule(rng: Rng): () => ReceiverSpell {
  let healthy = false;
  return () => {
    healthy = !healthy;
    if (healthy) return { mode: 'ok', durationMs: rng.int(2_000, 6_000) };
    return { mode: rng.chance(0.5) ? 'nul' : 'slow', durationMs: rng.int(1_000, 4_000) };
  };
}

/** A 200's body PostgreSQL cannot store as text as it is: NUL bytes, invalid UTF-8, controls. */
export const NUL_ANSWER = Buffer.concat([Buffer.from('ok\u0000'), Buffer.from([0x00, 0xff, 0xfe, 0xc0, 0xaf, 0x1b, 0x00]), Buffer.from('{"received":true}\u0000')]);

export interface WebhookReceiver {
  readonly url: string;
  readonly arrivals: readonly Arrival[];
  /** The secret the endpoint was registered with (deliveries before it is set fail to verify). */
  setSecret(secret: string): void;
  /** Starts the seeded bad spells. */
  startSpells(): void;
  /**
   * A worker is about to be killed mid-delivery: stalls every delivery from now on and resolves
   * once `minInFlight` are held, or `afterFirstMs` after the first (well before the sender's
   * timeout, so they are still in flight at the kill), or after `maxMs`; then stalls no more.
   */
  holdInFlight(options: { minInFlight: number; afterFirstMs: number; maxMs: number }): Promise<number>;
  /** No more bad spells: from now on every delivery is answered 204. */
  heal(): void;
  /** Counts for the report: arrivals, by mode, cut off by the sender well before its timeout (a kill), spells. */
  stats(): { arrivals: number; errors: number; stalls: number; cutOff: number; spells: number };
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;

export async function startWebhookReceiver(options: ReceiverOptions): Promise<WebhookReceiver> {
  const { rng, deliveryTimeoutMs, errorChance = options.hostile ? 0 : 0.03 } = options;
  const nextSpell = (options.hostile ? hostileSchedule : receiverSchedule)(rng.fork('spells'));
  const perRequest = rng.fork('requests');
  const arrivals: Arrival[] = [];
  let verifier: Webhook | undefined;
  let seq = 0;
  let mode: ReceiverMode = 'ok';
  let spellTimer: NodeJS.Timeout | undefined;
  let holding: (() => void) | undefined;
  let healed = false;
  let spells = 0;
  const stalls = new Set<NodeJS.Timeout>();

  const runSpell = () => {
    if (healed) return;
    const spell = nextSpell();
    mode = spell.mode;
    if (spell.mode !== 'ok') spells += 1;
    spellTimer = setTimeout(runSpell, spell.durationMs);
  };

  const modeNow = (): ReceiverMode => {
    if (healed) return 'ok';
    if (holding) return 'stall';
    if (mode === 'ok' && perRequest.chance(errorChance)) return 'error';
    return mode;
  };

  const handle = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const header = (name: string) => String(request.headers[name] ?? '');
    const headers = { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') };
    let signatureError: string | null = null;
    try {
      if (!verifier) throw new Error('no secret yet');
      verifier.verify(body, headers);
    } catch (error) {
      signatureError = error instanceof Error ? error.message : String(error);
    }
    const arrival: Arrival = { seq: ++seq, webhookId: headers['webhook-id'], body, arrivedAtMs: Date.now(), signatureError, mode: modeNow(), status: 0, answeredSeq: null, cutOffAfterMs: null };
    arrivals.push(arrival);
    const answer = (status: number, body: string | Buffer | undefined = status === 204 ? undefined : `sim receiver: ${status}`) => {
      if (response.destroyed || arrival.cutOffAfterMs !== null) return;
      arrival.status = status;
      arrival.answeredSeq = ++seq;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    response.on('close', () => {
      if (arrival.answeredSeq === null && arrival.cutOffAfterMs === null) arrival.cutOffAfterMs = Date.now() - arrival.arrivedAtMs;
    });
    if (signatureError !== null) return answer(400);
    switch (arrival.mode) {
      case 'ok':
        return answer(204);
      case 'error':
        return answer(500);
      case 'nul':
        return answer(200, NUL_ANSWER);
      case 'slow': {
        // 0.5–1.5 × the sender's timeout: half in time, half to a sender that has hung up (not answered then).
        const timer = setTimeout(() => {
          stalls.delete(timer);
          answer(204);
        }, perRequest.int(Math.round(deliveryTimeoutMs / 2), Math.round(deliveryTimeoutMs * 1.5)));
        stalls.add(timer);
        return;
      }
      case 'stall': {
        // Past the sender's timeout, then the connection is dropped without an answer.
        const timer = setTimeout(() => {
          stalls.delete(timer);
          response.destroy();
        }, deliveryTimeoutMs + 1_000);
        stalls.add(timer);
        holding?.();
        return;
      }
      default: {
        const _exhaustive: never = arrival.mode;
        return _exhaustive;
      }
    }
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hooks/xingtu`,
    arrivals,
    setSecret: (secret) => {
      verifier = new Webhook(secret);
    },
    startSpells: () => {
      if (!spellTimer && !healed) runSpell();
    },
    holdInFlight: ({ minInFlight, afterFirstMs, maxMs }) => {
      if (healed || holding) return Promise.resolve(0);
      const held = () => arrivals.filter((a) => a.mode === 'stall' && a.answeredSeq === null && a.cutOffAfterMs === null).length;
      return new Promise<number>((resolve) => {
        let firstTimer: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(firstTimer);
          clearTimeout(maxTimer);
          holding = undefined;
          resolve(held());
        };
        const maxTimer = setTimeout(done, maxMs);
        holding = () => {
          if (held() >= minInFlight) done();
          else firstTimer ??= setTimeout(done, afterFirstMs);
        };
      });
    },
    heal: () => {
      healed = true;
      clearTimeout(spellTimer);
    },
    stats: () => ({
      arrivals: arrivals.length,
      errors: arrivals.filter((a) => a.status === 500).length,
      stalls: arrivals.filter((a) => a.mode === 'stall').length,
      // A kill comes ≤ 1.2 s after a held arrival (sim/run.ts); the sender's own timeout at ~2 s.
      cutOff: arrivals.filter((a) => a.cutOffAfterMs !== null && a.cutOffAfterMs < deliveryTimeoutMs * 0.75).length,
      spells,
    }),
    close: async () => {
      healed = true;
      clearTimeout(spellTimer);
      for (const timer of stalls) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
