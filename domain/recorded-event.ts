/**
 * One event as recorded in its order's stream (E1): its version in the stream and the workflow
 * time it happened at (epoch ms). The one declaration, for every kind of order and every layer.
 */
export interface RecordedEvent<E> {
  readonly version: number;
  readonly occurredAt: number; // epoch ms, workflow time
  readonly event: E;
}
