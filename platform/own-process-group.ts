import { spawn } from 'node:child_process';

const CHILD_MARK = 'XINGTU_OWN_PROCESS_GROUP';

/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group: to `npm start` and
 * also to the embedded PostgreSQL and the Temporal dev server it spawned, which then stop at once,
 * under the API and the worker still using them ("connection lost" lines, Temporal's dial
 * warnings). So the stack runs in a child process of its own process group (its servers with it)
 * and this process only forwards SIGINT, SIGTERM and SIGHUP to that child, which stops the API and
 * the worker before the servers; it exits with the child's code. The child stops itself the same
 * way when this process dies (even by SIGKILL: its IPC channel closes).
 *
 * Returns true in the forwarding parent (which must do nothing else), false in the child (and on
 * Windows, which has no process groups), which runs the stack.
 */
export function runInOwnProcessGroup(): boolean {
  if (process.platform === 'win32') return false;
  if (process.env[CHILD_MARK] === '1') {
    process.channel?.unref(); // the channel only watches the parent; it keeps nothing alive
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    return false;
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true, // a process group of its own: the terminal's Ctrl-C reaches this process only
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    console.error(`could not start: ${error.message}`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
    process.exit();
  });
  return true;
}
