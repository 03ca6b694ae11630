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

  it('keeps the first 300 chars of a non-JSON body', () => {
    const html = `<html>${'x'.repeat(400)}</html>`;
    const { errorCode, message } = parseErrorBody(html);
    expect(errorCode).toBeUndefined();
    expect(message.startsWith(html.slice(0, 300))).toBe(true);
    expect(message.length).toBeLessThanOrEqual(301);
  });

  it('describes an empty body', () => {
    expect(parseErrorBody('')).toEqual({ message: '(empty body)' });
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
