/**
 * The README's API examples, checked against the schemas the API validates and answers with, so the docs cannot
 * drift from the code again (they once showed a flat `authType` the API never returned).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobViewSchema } from '../../../shared/api/schemas.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { containerSchema, submitRequestSchema, taskSchema } from '../../../shared/jobs/submit-request.js';

const README = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');

/** The text of a README section: from its heading to the next heading. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const next = README.slice(start + heading.length + 2).search(/\n#{2,3} /);
  return README.slice(start, next === -1 ? undefined : start + heading.length + 2 + next);
}

/** The backticked names in the row of a markdown table whose first cell is `name` (after a colon, if any). */
function namesInRow(table: string, name: string): string[] {
  const row = table.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
  expect(row, name).toBeDefined();
  const meaning = (row as string).split('|')[2] ?? '';
  return [...meaning.slice(meaning.indexOf(':') + 1).matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1] as string);
}

describe('README: The API', () => {
  it('the GET example is a job view as the API answers it, with the id derived from namespace and executionId', () => {
    const json = /```json\n([\s\S]*?)\n```/.exec(section('### `GET /v1/jobs/{id}` — where the job is'))?.[1];
    const example = jobViewSchema.parse(JSON.parse(json ?? 'null'));
    expect(example.jobId).toBe(jobIdFor(example.namespace, example.executionId));
    expect(example.auth).toMatchObject({ authType: 'pat', mode: 'pat' });
  });

  it('the POST table names the request fields, task keys and container keys the API takes', () => {
    const table = section('### `POST /v1/jobs` — run a Databricks job');
    const fields = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
    expect(fields).toEqual(Object.keys(submitRequestSchema.shape));
    const taskKeys = namesInRow(table, 'task');
    expect(taskKeys.length).toBeGreaterThan(5);
    for (const key of taskKeys) expect(Object.keys(taskSchema.shape), key).toContain(key);
    for (const key of namesInRow(table, 'container')) expect(Object.keys(containerSchema.shape), key).toContain(key);
  });
});
