import { Client, Connection, ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import pg from 'pg';
import { API_ERROR_STATUS, ApiError } from '../api/errors';
import { unavailableDependency } from '../platform/faults';
import { freePort } from '../platform/free-port';

/** SPEC §8/§10: which errors mean "PostgreSQL or Temporal cannot be reached" (503), and which do not. */

const pgError = (code: string, message: string) => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });

describe('§8 unavailable: PostgreSQL faults', () => {
  test.each([
    ['57P01 admin_shutdown (also an immediate shutdown)', pgError('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', pgError('57P02', 'terminating connection because of crash of another server process')],
    ['57P03 cannot_connect_now', pgError('57P03', 'the database system is starting up')],
    ['53300 too_many_connections', pgError('53300', 'sorry, too many clients already')],
    ['08006 connection_failure', pgError('08006', 'connection failure')],
    ['40001 serialization_failure (rolled back whole, retryable)', pgError('40001', 'could not serialize access due to concurrent update')],
    ['40P01 deadlock_detected (rolled back whole, retryable)', pgError('40P01', 'deadlock detected')],
    ['08P01 protocol_violation (class 08)', pgError('08P01', 'protocol violation')],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ECONNRESET', socketError('ECONNRESET')],
    ['ENOTFOUND (the host is gone from DNS)', socketError('ENOTFOUND')],
    ['"Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
    ['pg-pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['pg connect timeout, wrapping its cause', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['a client broken by an earlier error', new Error('Client has encountered a connection error and is not queryable')],
    ['one socket error per address (AggregateError)', new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], 'connect failed')],
  ])('%s → postgres', (_label, error) => {
    expect(unavailableDependency(error)).toBe('postgres');
  });

  test('a real refused connection → postgres', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await freePort(), connectionTimeoutMillis: 2000 });
    const error = await client.connect().then(() => undefined, (e: unknown) => e);
    expect(unavailableDependency(error)).toBe('postgres');
  });
});

describe('§8 unavailable: Temporal faults', () => {
  test.each([
    ['gRPC UNAVAILABLE', grpcError(14, 'No connection established')],
    ['gRPC DEADLINE_EXCEEDED', grpcError(4, 'Deadline exceeded')],
    ['gRPC RESOURCE_EXHAUSTED (load shedding)', grpcError(8, 'namespace rate limit exceeded')],
    ['the client wrapping UNAVAILABLE in its ServiceError', new ServiceError('Failed to start Workflow', { cause: grpcError(14, 'No connection established') })],
    ['"Failed to connect to Temporal server"', new ServiceError('Failed to connect to Temporal server', { cause: grpcError(4, 'Deadline exceeded') })],
    ['an Update call that timed out', new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled', { cause: grpcError(4, 'Deadline exceeded') })],
    ['an Update refused while the workflow task is in failed state (9 FAILED_PRECONDITION)', grpcError(9, 'Unable to perform workflow execution update due to Workflow Task in failed state.')],
    [
      'the same, from Update-with-Start (the reason in the message, not the details)',
      Object.assign(new Error('Unable to perform workflow execution update due to Workflow Task in failed state.'), { code: 9, details: 'Update-with-Start could not be executed.', metadata: {} }),
    ],
    ["the worker's native TransportError", Object.assign(new Error('tonic::transport::Error(Transport, ConnectError("tcp connect error"))'), { name: 'TransportError' })],
  ])('%s → temporal', (_label, error) => {
    expect(unavailableDependency(error)).toBe('temporal');
  });

  test('a real call to a server that is not there → temporal', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 1 }))] });
    try {
      const client = new Client({ connection });
      const error = await client.workflow.getHandle('nowhere').describe().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceError);
      expect(unavailableDependency(error)).toBe('temporal');
    } finally {
      await connection.close();
    }
  });
});

describe('not faults: bugs and refusals stay what they are', () => {
  test.each([
    ['23505 unique_violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['23514 check_violation', pgError('23514', 'new row violates check constraint')],
    ['57014 query_canceled', pgError('57014', 'canceling statement due to statement timeout')],
    ['42P01 undefined_table (a bug)', pgError('42P01', 'relation "nope" does not exist')],
    ['gRPC NOT_FOUND', grpcError(5, 'workflow not found')],
    ['gRPC INVALID_ARGUMENT', grpcError(3, 'bad request')],
    ['gRPC FAILED_PRECONDITION for another reason', grpcError(9, 'Workflow execution already completed')],
    ['a ServiceError wrapping INVALID_ARGUMENT', new ServiceError('Failed to start Workflow', { cause: grpcError(3, 'bad request') })],
    ['WorkflowNotFoundError', new WorkflowNotFoundError('gone', 'w', undefined)],
    ['WorkflowUpdateFailedError', new WorkflowUpdateFailedError('refused', undefined)],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['an ApiError', new ApiError('invalid_state', 'no')],
    ['a string', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('%s → not unavailable', (_label, error) => {
    expect(unavailableDependency(error)).toBeUndefined();
  });

  test('a cause cycle ends', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(unavailableDependency(a)).toBeUndefined();
  });
});

describe('§8 the unavailable answer', () => {
  test('503 with the §8 body, naming the dependency', () => {
    expect(API_ERROR_STATUS.unavailable).toBe(503);
    const error = ApiError.unavailable('postgres');
    expect(error.status).toBe(503);
    expect(error.toBody()).toEqual({ error: { code: 'unavailable', message: expect.stringContaining('PostgreSQL'), details: { dependency: 'postgres' } } });
    expect(ApiError.unavailable('temporal').message).toContain('Temporal');
  });
});
