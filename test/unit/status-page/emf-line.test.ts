import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EMF_LINE_CHARS, parseEmfLine } from '../../../infra/local/status-page/emf-line.js';
import { craftedLine, linesPrintedBy } from './emf-lines.js';

/** A line as Powertools writes one, byte for byte. */
const EXAMPLE =
  '{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"FlyteDatabricksLambda","Dimensions":' +
  '[["service","Phase"]],"Metrics":[{"Name":"JobsEnded","Unit":"Count"}]}]},"service":"flyte-databricks-lambda",' +
  '"Phase":"SUCCEEDED","JobsEnded":1}';

describe('parseEmfLine', () => {
  it('reads a metric, its unit, its dimension set and the timestamp', () => {
    expect(parseEmfLine(EXAMPLE)).toEqual([
      {
        namespace: 'FlyteDatabricksLambda',
        name: 'JobsEnded',
        unit: 'Count',
        dimensions: { service: 'flyte-databricks-lambda', Phase: 'SUCCEEDED' },
        values: [1],
        timestampMs: 1767225600000,
      },
    ]);
  });

  it('reads an array of values, and every dimension set of a directive', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [
          { Namespace: 'N', Dimensions: [['service'], ['service', 'Endpoint']], Metrics: [{ Name: 'Calls' }] },
        ],
      },
      service: 's',
      Endpoint: 'runs/get',
      Calls: [1, 2, 3],
    });
    const data = parseEmfLine(line);
    expect(data.map((d) => d.dimensions)).toEqual([{ service: 's' }, { service: 's', Endpoint: 'runs/get' }]);
    expect(data.every((d) => d.values.join() === '1,2,3' && d.unit === 'None')).toBe(true);
  });

  it('unwraps a line the Lambda runtime printed in its JSON log format (`message` holds what was printed)', () => {
    const wrapped = JSON.stringify({ timestamp: 'x', level: 'INFO', requestId: 'r', message: EXAMPLE });
    expect(parseEmfLine(wrapped)).toHaveLength(1);
  });

  it.each([
    ['a log line', '{"level":"INFO","message":"job ended","_awsish":1}'],
    ['plain text', 'START RequestId: 1 Version: $LATEST _aws'],
    ['truncated JSON', EXAMPLE.slice(0, -5)],
    ['an array', `[${EXAMPLE}]`],
    ['a missing dimension value', EXAMPLE.replace('"Phase":"SUCCEEDED",', '')],
    ['a dimension value that is not a string', EXAMPLE.replace('"SUCCEEDED"', '{"x":1}')],
    ['a metric value that is not a number', EXAMPLE.replace('"JobsEnded":1', '"JobsEnded":"1"')],
    ['a metric without its value', EXAMPLE.replace(',"JobsEnded":1', '')],
    ['directives that are not a list', '{"_aws":{"CloudWatchMetrics":{}}}'],
    ['a value from the prototype', EXAMPLE.replace('"Name":"JobsEnded"', '"Name":"constructor"')],
  ])('gives nothing for %s', (_what, line) => {
    expect(parseEmfLine(line)).toEqual([]);
  });

  it('skips a line longer than CloudWatch Logs takes, unparsed', () => {
    const huge = EXAMPLE.replace('"JobsEnded":1', `"pad":"${'x'.repeat(MAX_EMF_LINE_CHARS)}","JobsEnded":1`);
    expect(parseEmfLine(huge)).toEqual([]);
  });

  it('never throws, whatever the line', () => {
    const jsonish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 4 }).map((json) => json.replace(/^\{/, '{"_aws":{"CloudWatchMetrics":[')),
      fc.anything().map((value) => JSON.stringify({ _aws: value, message: value }) ?? ''),
    );
    fc.assert(
      fc.property(jsonish, (line) => {
        expect(Array.isArray(parseEmfLine(line))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('reads what the crafted lines say, as the tests of the page feed them', () => {
    const line = craftedLine({ name: 'WorkspaceCalls', unit: 'Count', value: 2, dimensions: { Workspace: 'h' } });
    expect(parseEmfLine(line)).toEqual([
      expect.objectContaining({
        name: 'WorkspaceCalls',
        values: [2],
        dimensions: expect.objectContaining({ Workspace: 'h' }),
      }),
    ]);
  });

  it('reads the lines the real Powertools Metrics class prints', () => {
    const lines = linesPrintedBy([
      { name: 'JobsEnded', unit: 'Count', value: 1, dimensions: { Phase: 'SUCCEEDED' } },
      { name: 'JobsAccepted', unit: 'Count', value: 1 },
      { name: 'JobsAccepted', unit: 'Count', value: 1 },
    ]);
    const data = lines.flatMap(parseEmfLine);
    expect(data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          namespace: 'FlyteDatabricksLambda',
          name: 'JobsEnded',
          unit: 'Count',
          dimensions: { service: 'flyte-databricks-lambda', Phase: 'SUCCEEDED' },
          values: [1],
        }),
        // Powertools writes a metric added twice in one flush as an array of values.
        expect.objectContaining({
          name: 'JobsAccepted',
          dimensions: { service: 'flyte-databricks-lambda' },
          values: [1, 1],
        }),
      ]),
    );
  });
});
