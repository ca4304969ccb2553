import { Writable } from 'node:stream';

/** A log stream for a test stack (`withStack(…, { logger: { stream, level } })`) that keeps every line written, to search afterwards. */
export function captureLog(): { readonly stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}
