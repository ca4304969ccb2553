import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

/**
 * SPEC §10 (issue 18): TLS, and mutual TLS, between the API / the workers / the ops scripts and the
 * Temporal frontend, from the environment. Every value is a path to a PEM file (a mounted secret),
 * never the key itself in a variable:
 *
 * - `TEMPORAL_TLS_CERT` + `TEMPORAL_TLS_KEY`: this process's client certificate and key (mTLS; both or neither);
 * - `TEMPORAL_TLS_CA`: the CA that signed the server's certificate (default: the system's roots);
 * - `TEMPORAL_TLS_SERVER_NAME`: the name to check in the server's certificate, when it is not the address's host;
 * - `TEMPORAL_TLS`: `true` for TLS with none of the above (server-authenticated only), `false` for none.
 *
 * None set: plaintext (npm start's dev server, the compose network). Any of the files set: TLS.
 * A missing, unreadable or non-PEM file fails the start, naming the variable and its path (never the contents).
 */
export const TEMPORAL_TLS_VARIABLES = ['TEMPORAL_TLS', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME'] as const;

export function loadTemporalTls(env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => Buffer = (path) => readFileSync(path)): TLSConfig | undefined {
  const value = (name: (typeof TEMPORAL_TLS_VARIABLES)[number]) => env[name]?.trim() || undefined;
  const flag = value('TEMPORAL_TLS');
  if (flag !== undefined && flag !== 'true' && flag !== 'false') throw new Error('TEMPORAL_TLS must be true or false');
  const [cert, key, ca, serverName] = [value('TEMPORAL_TLS_CERT'), value('TEMPORAL_TLS_KEY'), value('TEMPORAL_TLS_CA'), value('TEMPORAL_TLS_SERVER_NAME')];
  const configured = cert !== undefined || key !== undefined || ca !== undefined || serverName !== undefined;
  if (flag === 'false') {
    if (configured) throw new Error('TEMPORAL_TLS=false, but TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME are set: unset them, or TEMPORAL_TLS');
    return undefined;
  }
  if (flag === undefined && !configured) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its private key)');
  const pem = (name: string, path: string): Buffer => {
    let contents: Buffer;
    try {
      contents = readFile(path);
    } catch (error) {
      throw new Error(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!contents.toString('utf8').includes('-----BEGIN ')) throw new Error(`${name}: ${path} is not a PEM file`);
    return contents;
  };
  return {
    ...(cert !== undefined && key !== undefined ? { clientCertPair: { crt: pem('TEMPORAL_TLS_CERT', cert), key: pem('TEMPORAL_TLS_KEY', key) } } : {}),
    ...(ca !== undefined ? { serverRootCACertificate: pem('TEMPORAL_TLS_CA', ca) } : {}),
    ...(serverName !== undefined ? { serverNameOverride: serverName } : {}),
  };
}
