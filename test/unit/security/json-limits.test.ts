/**
 * The hostile-JSON check shared by the API and the SQS handlers: each limit at its boundary, the path it names,
 * and that the API (400/413) and SQS (BadMessageError) answer with the same wording.
 */
import { readFileSync } from 'node:fs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../functions/api/http-error.js';
import { MAX_BODY_BYTES, parseJsonBody } from '../../../functions/api/parse-body.js';
import { BadMessageError, parseRecord } from '../../../functions/sqs-batch.js';
import {
  assertJsonWithinLimits,
  findJsonLimitViolation,
  JSON_LIMITS,
  JsonLimitError,
  parseUntrustedJson,
} from '../../../shared/jobs/json-limits.js';
import { pollMessageSchema, submitMessageSchemaFor } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { apiEvent, sqsRecord } from '../fuzz/fixtures.js';

const example = JSON.parse(readFileSync(new URL('../../../examples/jobs/pat.json', import.meta.url), 'utf8'));

/** The violation for `text` parsed as JSON, as `path: reason`. */
const violationOf = (value: unknown) => {
  const error = findJsonLimitViolation(value);
  return error && { field: error.field, message: error.message };
};
const nested = (depth: number, open: string, close: string, leaf = '0') =>
  `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
const withConf = (conf: string) =>
  `{"namespace":"ns","executionId":"e","task":{"databricksConf":${conf}},"container":{}}`;

describe('Function: assertJsonWithinLimits()', () => {
  it('accepts the documented example request and ordinary JSON', () => {
    expect(() => assertJsonWithinLimits(example)).not.toThrow();
    for (const value of [null, true, 0, -0, 0.5, 1e-300, '', 'x', [], {}, [[[]]], { a: { b: [1, 'c', null] } }]) {
      expect(violationOf(value)).toBeUndefined();
    }
  });

  it.each([
    ['{"__proto__":{"polluted":true}}', '__proto__'],
    ['{"a":{"constructor":{"prototype":1}}}', 'a.constructor'],
    ['{"a":[{"ok":1},{"prototype":null}]}', 'a.1.prototype'],
    ['[0,{"x":{"__proto__":[]}}]', '1.x.__proto__'],
  ])('refuses a prototype key anywhere, naming its path: %s', (text, field) => {
    const value = JSON.parse(text);
    expect(violationOf(value)).toEqual({
      field,
      message: `${field}: the key '${field.split('.').at(-1)}' is not allowed`,
    });
  });

  it('leaves Object.prototype alone: JSON.parse makes `__proto__` an own key, and the check refuses it first', () => {
    const value = JSON.parse('{"a":1,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['a', '__proto__']);
    expect(() => parseUntrustedJson('{"a":1,"__proto__":{"polluted":true}}')).toThrow(JsonLimitError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('allows 32 levels of nesting and refuses the 33rd, naming where', () => {
    expect(violationOf(JSON.parse(nested(32, '[', ']')))).toBeUndefined();
    expect(violationOf(JSON.parse(nested(33, '[', ']')))).toEqual({
      field: Array(32).fill('0').join('.'),
      message: `${Array(32).fill('0').join('.')}: nested deeper than 32 levels`,
    });
    expect(violationOf(JSON.parse(nested(40, '{"k":', '}')))?.field).toBe(Array(32).fill('k').join('.'));
  });

  it('survives nesting as deep as the body limit allows', () => {
    const text = nested(MAX_BODY_BYTES / 2 - 1, '[', ']', '');
    expect(() => parseUntrustedJson(text)).toThrow(/nested deeper than 32 levels/);
  });

  it.each([
    ['1e400', 'Infinity from JSON.parse'],
    ['-1e400', '-Infinity from JSON.parse'],
    ['9007199254740992', 'MAX_SAFE_INTEGER + 1'],
    ['-9007199254740992', '-(MAX_SAFE_INTEGER + 1)'],
    ['1e300', 'a huge finite double'],
  ])('refuses the number %s (%s), naming the path', (raw) => {
    const error = findJsonLimitViolation(JSON.parse(`{"task":{"databricksConf":{"a":{"b":${raw}}}}}`));
    expect(error?.field).toBe('task.databricksConf.a.b');
    expect(error?.message).toBe(
      'task.databricksConf.a.b: number must be finite and within ±9007199254740991 (Number.MAX_SAFE_INTEGER)',
    );
  });

  it('accepts the safe integer bounds', () => {
    expect(violationOf([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.5e15])).toBeUndefined();
  });

  it('caps strings and keys', () => {
    expect(violationOf({ s: 'x'.repeat(JSON_LIMITS.maxStringLength) })).toBeUndefined();
    expect(violationOf({ s: ['x'.repeat(JSON_LIMITS.maxStringLength + 1)] })).toEqual({
      field: 's.0',
      message: 's.0: string longer than 32768 characters',
    });
    expect(violationOf({ a: { ['k'.repeat(1024)]: 1 } })).toBeUndefined();
    expect(violationOf({ a: { ['k'.repeat(1025)]: 1 } })).toEqual({
      field: 'a',
      message: 'a: has a key longer than 1024 characters',
    });
  });

  it('caps the total key count at 10000', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
    expect(violationOf({ a: keys(9_999) })).toBeUndefined();
    // a, its 5000 keys, b: the 10001st key is b's 4999th.
    expect(violationOf({ a: keys(5_000), b: keys(5_000) })).toEqual({
      field: 'b.k4998',
      message: 'b.k4998: more than 10000 keys in total',
    });
  });

  it('caps task.databricksConf at 16 levels and 128 KiB', () => {
    expect(violationOf(JSON.parse(withConf(nested(16, '{"a":', '}'))))).toBeUndefined();
    expect(violationOf(JSON.parse(withConf(nested(17, '{"a":', '}'))))).toEqual({
      field: `task.databricksConf${'.a'.repeat(16)}`,
      message: `task.databricksConf${'.a'.repeat(16)}: nested deeper than 16 levels below task.databricksConf`,
    });
    // Strings are capped at 32768 characters, so a big conf takes several; `fill` tops it up to an exact size.
    const conf = (bytes: number) => {
      const value: Record<string, string> = { a: '', b: '', c: '', d: '', fill: '' };
      for (const key of ['a', 'b', 'c', 'd']) value[key] = 'x'.repeat(30_000);
      value.fill = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(value)));
      expect(Buffer.byteLength(JSON.stringify(value))).toBe(bytes);
      return JSON.stringify(value);
    };
    expect(violationOf(JSON.parse(withConf(conf(128 * 1024))))).toBeUndefined();
    expect(violationOf(JSON.parse(withConf(conf(128 * 1024 + 1))))).toEqual({
      field: 'task.databricksConf',
      message: 'task.databricksConf: serialized size 131073 bytes exceeds 131072 bytes',
    });
    // Elsewhere than the task, the same depth is fine.
    expect(violationOf(JSON.parse(`{"container":{"env":${nested(20, '{"a":', '}')}}}`))).toBeUndefined();
    // A databricksConf that is not an object is the schema's business.
    expect(violationOf({ task: { databricksConf: 'x' } })).toBeUndefined();
  });

  it('refuses values JSON.parse never makes', () => {
    for (const value of [undefined, () => 1, 1n, Symbol('s'), new Date(0), new Map()]) {
      expect(findJsonLimitViolation({ a: value })).toBeInstanceOf(JsonLimitError);
    }
  });

  it('parseUntrustedJson() tells bad text from bad JSON', () => {
    expect(() => parseUntrustedJson('{"a":')).toThrow(SyntaxError);
    expect(() => parseUntrustedJson('{"a":1e999}')).toThrow(JsonLimitError);
    expect(parseUntrustedJson('{"a":[1,"b"]}')).toEqual({ a: [1, 'b'] });
  });
});

describe('Function: parseJsonBody()', () => {
  const call = (body: string, isBase64Encoded = false) => {
    try {
      parseJsonBody(apiEvent('POST', '/v1/jobs', { body, isBase64Encoded }), submitRequestSchema);
    } catch (error) {
      if (error instanceof HttpError) return { status: error.statusCode, code: error.code, field: error.field };
      throw error;
    }
    return { status: 200 };
  };

  it('answers hostile JSON with a 400 ValidationError naming the path', () => {
    expect(call(withConf('{"a":{"b":1e400}}'))).toEqual({
      status: 400,
      code: 'ValidationError',
      field: 'task.databricksConf.a.b',
    });
    expect(call('{"constructor":1}')).toEqual({ status: 400, code: 'ValidationError', field: 'constructor' });
    // The document itself too deep: no field to name.
    expect(call(nested(40, '[', ']'))).toMatchObject({ status: 400, code: 'ValidationError' });
  });

  it('keeps the 256 KiB limit (413), decoded or base64', () => {
    const body = JSON.stringify({ ...example, pad: 'x'.repeat(MAX_BODY_BYTES) });
    expect(call(body).status).toBe(413);
    expect(call(Buffer.from(body).toString('base64'), true).status).toBe(413);
    expect(call('é'.repeat(MAX_BODY_BYTES / 2 + 1)).status).toBe(413);
  });
});

describe('Function: parseRecord()', () => {
  const record = (body: string): SQSRecord => sqsRecord(body);

  it('refuses hostile JSON with a BadMessageError worded as the API words it', () => {
    const r = record(withConf('{"a":{"__proto__":{}}}'));
    expect(() => parseRecord(r, submitMessageSchemaFor)).toThrow(
      new BadMessageError(
        `Message ${r.messageId} is not a valid message: task.databricksConf.a.__proto__: the key '__proto__' is not allowed`,
      ),
    );
  });

  it('refuses a body over 256 KiB before parsing it', () => {
    const r = record(JSON.stringify({ jobId: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(() => parseRecord(r, () => pollMessageSchema)).toThrow(
      new BadMessageError(`Message ${r.messageId} exceeds ${MAX_BODY_BYTES} bytes`),
    );
  });

  it('keeps its message short when the schema finds thousands of problems', () => {
    const r = record(JSON.stringify({ ...example, container: { args: Array(500).fill(1) } }));
    let message = '';
    try {
      parseRecord(r, submitMessageSchemaFor);
    } catch (error) {
      expect(error).toBeInstanceOf(BadMessageError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/container\.args\.0: .*; and 495 more$/);
    expect(message.length).toBeLessThan(1000);
  });

  it('still names text that is not JSON', () => {
    const r = record('not json {');
    expect(() => parseRecord(r, () => pollMessageSchema)).toThrow(`Message ${r.messageId} is not JSON`);
  });
});
