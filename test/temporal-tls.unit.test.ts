import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../platform/config';
import { apiTemporalClient } from '../platform/temporal-client';
import { loadTemporalTls } from '../platform/temporal-tls';

/** SPEC §10 (issue 18): TLS / mTLS to Temporal from TEMPORAL_TLS_* (paths to PEM files). */
const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pemOf = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
const file = (name: string, contents: string) => {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
};
const cert = file('client.pem', pemOf('CERTIFICATE'));
const key = file('client.key', pemOf('PRIVATE KEY'));
const ca = file('ca.pem', pemOf('CERTIFICATE'));

describe('loadTemporalTls', () => {
  test('nothing set: plaintext (npm start, the compose network), and loadConfig agrees', () => {
    expect(loadTemporalTls({})).toBeUndefined();
    expect(loadTemporalTls({ TEMPORAL_TLS: 'false' })).toBeUndefined();
    expect(loadConfig({}).temporalTls).toBeUndefined();
  });

  test('mTLS: the client certificate and key, the server CA and the server name, read from their files', () => {
    const tls = loadTemporalTls({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(tls).toEqual({
      clientCertPair: { crt: Buffer.from(pemOf('CERTIFICATE')), key: Buffer.from(pemOf('PRIVATE KEY')) },
      serverRootCACertificate: Buffer.from(pemOf('CERTIFICATE')),
      serverNameOverride: 'temporal.internal',
    });
    expect(loadConfig({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca }).temporalTls).toEqual({
      clientCertPair: { crt: expect.any(Buffer), key: expect.any(Buffer) },
      serverRootCACertificate: expect.any(Buffer),
    });
  });

  test('server-authenticated TLS only: a CA alone, or TEMPORAL_TLS=true with the system roots', () => {
    expect(loadTemporalTls({ TEMPORAL_TLS_CA: ca })).toEqual({ serverRootCACertificate: Buffer.from(pemOf('CERTIFICATE')) });
    expect(loadTemporalTls({ TEMPORAL_TLS: 'true' })).toEqual({});
    expect(loadTemporalTls({ TEMPORAL_TLS: ' true ', TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: ' ' })).toEqual({});
  });

  test.each([
    [{ TEMPORAL_TLS_CERT: cert }, /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/],
    [{ TEMPORAL_TLS_KEY: key }, /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/],
    [{ TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS must be true or false/],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca }, /TEMPORAL_TLS=false, but/],
  ])('refuses %j', (env, message) => {
    expect(() => loadTemporalTls(env)).toThrow(message);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('a missing or non-PEM file fails with the variable and the path, never the contents', () => {
    const missing = join(dir, 'nowhere.pem');
    expect(() => loadTemporalTls({ TEMPORAL_TLS_CA: missing })).toThrow(`TEMPORAL_TLS_CA: cannot read ${missing} (ENOENT)`);
    const secret = 'not-a-pem-but-a-secret-0123456789';
    const raw = file('raw.key', secret);
    let message = '';
    try {
      loadTemporalTls({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: raw });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`TEMPORAL_TLS_KEY: ${raw} is not a PEM file`);
    expect(message).not.toContain(secret);
  });
});

test("the API's Temporal client connects with those settings (and without TLS when there are none)", async () => {
  // Real PEM files (the client parses them when it is made): test/fixtures/temporal-tls, test-only.
  const fixtures = join(__dirname, 'fixtures', 'temporal-tls');
  const tls = loadTemporalTls({ TEMPORAL_TLS_CERT: join(fixtures, 'client.pem'), TEMPORAL_TLS_KEY: join(fixtures, 'client.key'), TEMPORAL_TLS_CA: join(fixtures, 'ca.pem') });
  expect(tls?.clientCertPair?.crt.toString()).toContain('-----BEGIN CERTIFICATE-----');
  const secured = apiTemporalClient('127.0.0.1:7233', 'default', tls);
  const plain = apiTemporalClient('127.0.0.1:7233', 'default');
  try {
    // The gRPC channel's credentials: secure (TLS, with the client certificate) or insecure (plaintext).
    expect(secured.connection.options.credentials._isSecure()).toBe(true);
    expect(plain.connection.options.credentials._isSecure()).toBe(false);
  } finally {
    await Promise.all([secured.connection.close(), plain.connection.close()]);
  }
});
