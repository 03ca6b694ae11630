import { describe, expect, it } from 'vitest';
import { LOCAL_STACK_URL, parseCliArgs, UsageError } from '../../../shared/cli/args.js';

describe('Function: parseCliArgs', () => {
  it('parses each command with its options, global options anywhere', () => {
    expect(
      parseCliArgs(['submit', 'job.json', '--namespace', 'team-a', '--execution-id', 'e-1', '--watch', '--json']),
    ).toEqual({
      url: LOCAL_STACK_URL,
      json: true,
      command: { name: 'submit', file: 'job.json', namespace: 'team-a', executionId: 'e-1', watch: true },
    });
    expect(parseCliArgs(['--region', 'eu-west-1', 'status', 'fdl-1'])).toEqual({
      url: LOCAL_STACK_URL,
      json: false,
      region: 'eu-west-1',
      command: { name: 'status', jobId: 'fdl-1' },
    });
    expect(parseCliArgs(['cancel', 'fdl-1', '--profile', 'dev']).command).toEqual({ name: 'cancel', jobId: 'fdl-1' });
    expect(parseCliArgs(['watch', 'fdl-1']).command).toEqual({ name: 'watch', jobId: 'fdl-1' });
    expect(parseCliArgs(['list', 'team-a', '--limit', '5', '--next-token', 'abc']).command).toEqual({
      name: 'list',
      namespace: 'team-a',
      limit: 5,
      nextToken: 'abc',
    });
    expect(parseCliArgs(['--help']).command).toEqual({ name: 'help' });
    expect(parseCliArgs(['list', '-h']).command).toEqual({ name: 'help' });
  });

  it('takes the URL from --url, else FLYTE_DATABRICKS_API_URL, else the local stack, without a trailing slash', () => {
    const env = { FLYTE_DATABRICKS_API_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/' };
    expect(parseCliArgs(['status', 'x'], env).url).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/prod');
    expect(parseCliArgs(['status', 'x', '--url', 'http://127.0.0.1:4000/local'], env).url).toBe(
      'http://127.0.0.1:4000/local',
    );
    expect(parseCliArgs(['status', 'x'], { FLYTE_DATABRICKS_API_URL: '' }).url).toBe(LOCAL_STACK_URL);
  });

  it.each([
    [[], 'No command given'],
    [['launch'], "Unknown command 'launch'"],
    [['status'], "'status' takes exactly one argument: <jobId>"],
    [['status', 'a', 'b'], "'status' takes exactly one argument: <jobId>"],
    [['list', 'ns', '--watch'], "'list' does not take --watch"],
    [['status', 'x', '--limit', '5'], "'status' does not take --limit"],
    [['list', 'ns', '--limit', '0'], '--limit must be an integer from 1 to 100'],
    [['list', 'ns', '--limit', '101'], '--limit must be an integer from 1 to 100'],
    [['list', 'ns', '--limit', '2.5'], '--limit must be an integer from 1 to 100'],
    [['status', 'x', '--url', 'ftp://host'], '--url must be http(s)'],
    [['status', 'x', '--url', 'nope'], '--url is not a URL'],
    [['status', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['status', 'x', '--url'], "Option '--url <value>' argument missing"],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});
