import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type TLSConfig } from '@temporalio/client';
import { dataConverter } from './data-converter';

/**
 * Attempts of one RPC of the API while Temporal does not answer. The SDK's default (10 attempts,
 * up to 5 s apart) holds a request for about 20 s before it fails; 5 attempts ride over a blip of
 * about 2 s (0.17 + 0.29 + 0.49 + 0.84 s of backoff) and then the API answers `503 unavailable`
 * (SPEC §8) so that the caller, not a held connection, does the waiting.
 */
export const API_TEMPORAL_RPC_ATTEMPTS = 5;

/**
 * The API's Temporal client. Lazy: the API starts, and answers 503 with GET /health saying so,
 * while Temporal is not up yet (SPEC §10), and the gRPC channel reconnects by itself when it is.
 */
export function apiTemporalClient(address: string, namespace: string, tls?: TLSConfig): { client: Client; connection: Connection } {
  const connection = Connection.lazy({
    address,
    ...(tls ? { tls } : {}), // TLS / mTLS to the frontend (platform/temporal-tls.ts)
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: API_TEMPORAL_RPC_ATTEMPTS }))],
  });
  return { client: new Client({ connection, namespace, dataConverter }), connection };
}
