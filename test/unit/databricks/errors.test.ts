import { describe, expect, it } from 'vitest';
import {
  DatabricksApiError,
  formatApiErrorMessage,
  parseErrorBody,
  redactSecrets,
} from '../../../shared/databricks/errors.js';
import { ConnectorError } from '../../../shared/errors.js';

describe('parseErrorBody', () => {
  it('reads {error_code, message}', () => {
    expect(parseErrorBody('{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}')).toEqual({
      errorCode: 'INVALID_PARAMETER_VALUE',
      message: 'bad',
    });
  });

  it('stringifies a numeric error_code', () => {
    expect(parseErrorBody('{"error_code":1234,"message":"m"}')).toEqual({ errorCode: '1234', message: 'm' });
  });

  it('reads legacy {error, message} as code + message, and a lone {error} as the message', () => {
    expect(parseErrorBody('{"error":"NOT_FOUND","message":"gone"}')).toEqual({
      errorCode: 'NOT_FOUND',
      message: 'gone',
    });
    expect(parseErrorBody('{"error":"Run not found"}')).toEqual({ message: 'Run not found' });
  });

  it('never quotes a non-JSON body (an HTML page), only its size', () => {
    const html = `<html><body>internal admin console: ${'x'.repeat(5000)}</body></html>`;
    expect(parseErrorBody(html)).toEqual({
      message: `(non-JSON error body, ${Buffer.byteLength(html)} bytes)`,
    });
    expect(parseErrorBody('bad gateway')).toEqual({ message: '(non-JSON error body, 11 bytes)' });
  });

  it('counts the size in bytes, not characters', () => {
    expect(parseErrorBody('é')).toEqual({ message: '(non-JSON error body, 2 bytes)' });
  });

  it('takes only the code and the message from a JSON body with other fields', () => {
    const body = JSON.stringify({
      error_code: 'INVALID_STATE',
      message: 'Run is not active',
      details: [{ reason: 'internal-host-10.0.0.7' }],
      internal: 'metadata.internal secret-ish text',
    });
    expect(parseErrorBody(body)).toEqual({ errorCode: 'INVALID_STATE', message: 'Run is not active' });
  });

  it.each([
    ['an object without the expected fields', '{"html":"<h1>hello</h1>","status":"down"}'],
    ['an array', '["<h1>hello</h1>"]'],
    ['a string', '"<h1>hello</h1>"'],
    ['a number', '42'],
    ['null', 'null'],
    ['an object whose message is not text', '{"message":{"html":"<h1>hello</h1>"}}'],
  ])('never quotes JSON that is %s', (_label, body) => {
    const { message, errorCode } = parseErrorBody(body);
    expect(errorCode).toBeUndefined();
    expect(message).toBe(`(JSON error body without a message, ${Buffer.byteLength(body)} bytes)`);
  });

  it('keeps a code that comes without a message, and describes the rest', () => {
    const body = '{"error_code":"RESOURCE_DOES_NOT_EXIST","page":"<html>"}';
    expect(parseErrorBody(body)).toEqual({
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      message: `(JSON error body without a message, ${body.length} bytes)`,
    });
  });

  it('bounds the code and the message to 300 characters each', () => {
    const { errorCode, message } = parseErrorBody(
      JSON.stringify({ error_code: 'C'.repeat(5000), message: 'm'.repeat(5000) }),
    );
    expect(errorCode).toHaveLength(300);
    expect(message).toHaveLength(300);
    expect(message.endsWith('…')).toBe(true);
  });

  it('redacts credential-looking parts of the code and the message', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const { errorCode, message } = parseErrorBody(
      JSON.stringify({
        error_code: `dapi${'ab'.repeat(16)}`,
        message: `bad subject_token=${jwt} client_secret=s3cr3t`,
      }),
    );
    expect(errorCode).toBe('[REDACTED]');
    expect(message).toBe('bad subject_token=[REDACTED] client_secret=[REDACTED]');
  });

  it('reads OAuth {error, error_description}, and a lone {error} as a code when asked', () => {
    expect(parseErrorBody('{"error":"invalid_client","error_description":"Client authentication failed"}')).toEqual({
      errorCode: 'invalid_client',
      message: 'Client authentication failed',
    });
    expect(parseErrorBody('{"error":"invalid_client"}', { loneError: 'code' })).toEqual({
      errorCode: 'invalid_client',
      message: '(JSON error body without a message, 26 bytes)',
    });
  });

  it('describes an empty body', () => {
    expect(parseErrorBody('')).toEqual({ message: '(empty body)' });
    expect(parseErrorBody(' \n')).toEqual({ message: '(empty body)' });
  });
});

describe('DatabricksApiError', () => {
  it('is a ConnectorError whose permanence is the inverse of retryable', () => {
    const message = formatApiErrorMessage('runs/submit', 400, 'INVALID_PARAMETER_VALUE', 'nope');
    const err = new DatabricksApiError(message, {
      operation: 'runs/submit',
      status: 400,
      errorCode: 'X',
      retryable: false,
    });
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ name: 'DatabricksApiError', permanent: true, retryable: false, status: 400 });
    expect(err.message).toBe('Databricks runs/submit failed (HTTP 400 INVALID_PARAMETER_VALUE): nope');
    expect(new DatabricksApiError('m', { operation: 'runs/get', retryable: true }).permanent).toBe(false);
    expect(formatApiErrorMessage('runs/get', undefined, undefined, 'reset')).toBe(
      'Databricks runs/get failed (no response): reset',
    );
  });
});

describe('redactSecrets', () => {
  it('removes given secrets, bearer values and PAT-shaped strings', () => {
    const pat = `dapi${'a1'.repeat(16)}`;
    const out = redactSecrets(`t=s3cr3t; Authorization: Bearer abc.def; ${pat}`, ['s3cr3t']);
    expect(out).toBe('t=[REDACTED]; Authorization: Bearer [REDACTED]; [REDACTED]');
  });
});
