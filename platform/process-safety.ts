/**
 * SPEC §10: no process exits because PostgreSQL or Temporal went away. Node's default for a
 * rejected promise that nobody handles is to exit: one forgotten `catch` in a reconnect path during
 * an outage would end every request in flight and, under `npm start`, Temporal and PostgreSQL with
 * them. Such a rejection is a bug, so it is logged loudly, with its stack, and the process carries
 * on. Uncaught exceptions still end the process: after one, its state is unknown.
 */
export function logUnhandledRejections(log: (message: string) => void): void {
  process.on('unhandledRejection', (reason: unknown) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    log(`BUG: a promise rejected and nothing handled it (the process carries on): ${detail}`);
  });
}
