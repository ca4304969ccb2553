import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Issue 18, SPEC §8 Security: "a client that stops reading never holds a database connection".
 * A streamed response is pulled page by page: the next page is read only when the socket has room
 * for it (Node's stream backpressure), so a stalled reader stops the reads instead of parking a
 * pooled connection. A reader that makes no progress at all for `stallTimeoutMs` (nothing taken
 * from the socket's buffers) is disconnected, so it cannot keep a slot of the export's
 * concurrency limit either.
 */
export interface PagedStreamOptions {
  /** Disconnect a reader that takes nothing for this long. */
  readonly stallTimeoutMs: number;
  /** Called once when the response is over (finished, failed or abandoned). */
  readonly onClose: () => void;
}

/** A Readable over `next` (a chunk, or undefined at the end), reading the next chunk only on demand. */
export function pagedStream(next: () => Promise<string | undefined>, onError: (error: unknown) => void): Readable {
  const stream = new Readable({
    // Small, so at most about one page waits in memory beside the socket's own buffers.
    highWaterMark: 64 * 1024,
    read() {
      next().then(
        (chunk) => {
          if (!stream.destroyed) stream.push(chunk === undefined ? null : chunk);
        },
        (error: unknown) => {
          onError(error);
          stream.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
  });
  return stream;
}

/** Sends `body` on `reply`, watching its socket for a stalled reader and telling `onClose` once. */
export function sendPagedStream(request: FastifyRequest, reply: FastifyReply, body: Readable, { stallTimeoutMs, onClose }: PagedStreamOptions): FastifyReply {
  const socket = request.raw.socket;
  let progressAt = Date.now();
  let written = socket.bytesWritten;
  const watchdog = setInterval(() => {
    // Stalled: output waits for the client (not for the database) and the socket takes nothing.
    if (socket.bytesWritten !== written || socket.writableLength === 0) {
      written = socket.bytesWritten;
      progressAt = Date.now();
    } else if (Date.now() - progressAt >= stallTimeoutMs) {
      request.log.warn({ stallTimeoutMs }, 'streamed response: the client stopped reading; disconnecting it');
      socket.destroy();
    }
  }, Math.max(50, Math.min(1000, Math.floor(stallTimeoutMs / 4))));
  watchdog.unref();
  let closed = false;
  reply.raw.once('close', () => {
    if (closed) return;
    closed = true;
    clearInterval(watchdog);
    body.destroy(); // no more pages read for a response nobody receives
    onClose();
  });
  return reply.send(body);
}

/** An AbortSignal that fires when the client goes away before its response is complete. */
export function abortWhenClientLeaves(reply: FastifyReply): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client went away before the response'));
  };
  reply.raw.once('close', onClose);
  return { signal: controller.signal, dispose: () => reply.raw.off('close', onClose) };
}
