import { describe, expect, it } from 'vitest';
import {
  buildSubmitRunBody,
  CLASSIC_ENTRYPOINT,
  DEFAULT_GIT_SOURCE,
  NO_COMPUTE_MESSAGE,
  SERVERLESS_ENTRYPOINT,
} from '../../../shared/databricks/submit-body.js';
import type { ContainerSpec, DatabricksTaskSpec } from '../../../shared/databricks/types.js';
import { InvalidJobSpecError } from '../../../shared/errors.js';

const ARGS = ['pyflyte-fast-execute', '--additional-distribution', 's3://b/x.tar.gz', '--', 'pyflyte-execute'];
const container: ContainerSpec = { image: 'flyteorg/flytekit:databricks', args: ARGS, env: { foo: 'bar' } };
const FLYTE_ENV = { foo: 'bar', FLYTE_FAIL_ON_ERROR: 'true' };
const USER_GIT = { git_url: 'https://github.com/acme/repo', git_provider: 'gitHub', git_branch: 'main' };

function build(task: DatabricksTaskSpec, extra: { container?: ContainerSpec; provider?: string } = {}) {
  return buildSubmitRunBody({
    task,
    container: extra.container ?? container,
    idempotencyToken: 'job-123',
    defaultServiceCredentialProvider: extra.provider,
  });
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('buildSubmitRunBody: classic compute', () => {
  it('fills new_cluster docker_image, spark_conf and env, and sets the default spark_python_task', () => {
    const body = build({
      databricksConf: { run_name: 'r', new_cluster: { spark_version: '13.3.x', num_workers: 2 } },
      sparkConf: { 'spark.driver.memory': '1g' },
    });
    expect(body).toEqual({
      run_name: 'r',
      new_cluster: {
        spark_version: '13.3.x',
        num_workers: 2,
        docker_image: { url: 'flyteorg/flytekit:databricks' },
        spark_conf: { 'spark.driver.memory': '1g' },
        spark_env_vars: FLYTE_ENV,
      },
      spark_python_task: { python_file: CLASSIC_ENTRYPOINT, source: 'GIT', parameters: ARGS },
      git_source: DEFAULT_GIT_SOURCE,
      idempotency_token: 'job-123',
    });
  });

  it('keeps user docker_image and spark_conf, merges spark_env_vars with Flyte values winning', () => {
    const body = build({
      databricksConf: {
        new_cluster: {
          docker_image: { url: 'custom:1' },
          spark_conf: { a: '1' },
          spark_env_vars: { KEEP: 'me', foo: 'user', FLYTE_FAIL_ON_ERROR: 'false' },
        },
      },
      sparkConf: { ignored: 'yes' },
    });
    expect(body.new_cluster).toEqual({
      docker_image: { url: 'custom:1' },
      spark_conf: { a: '1' },
      spark_env_vars: { KEEP: 'me', foo: 'bar', FLYTE_FAIL_ON_ERROR: 'true' },
    });
  });

  it('treats an empty spark_conf as absent (Python truthiness) and defaults it to {} without task sparkConf', () => {
    expect(build({ databricksConf: { new_cluster: { spark_conf: {} } } }).new_cluster).toMatchObject({
      spark_conf: {},
      spark_env_vars: FLYTE_ENV,
    });
    const withConf = build({ databricksConf: { new_cluster: { spark_conf: {} } }, sparkConf: { s: '1' } });
    expect(withConf.new_cluster).toMatchObject({ spark_conf: { s: '1' } });
  });

  it('leaves existing_cluster_id untouched and adds no cluster env', () => {
    const body = build({ databricksConf: { existing_cluster_id: '0101-abc', timeout_seconds: 60 } });
    expect(body).toEqual({
      existing_cluster_id: '0101-abc',
      timeout_seconds: 60,
      spark_python_task: { python_file: CLASSIC_ENTRYPOINT, source: 'GIT', parameters: ARGS },
      git_source: DEFAULT_GIT_SOURCE,
      idempotency_token: 'job-123',
    });
  });

  it('treats classic + serverless markers as classic and passes the serverless keys through', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c', environment_key: 'e' } });
    expect(body.environment_key).toBe('e');
    expect(body.tasks).toBeUndefined();
    expect(body.spark_python_task).toBeDefined();
  });
});

describe('buildSubmitRunBody: serverless compute', () => {
  it('with environment_key only: appends an environments entry with client "1" and the Flyte env', () => {
    const body = build({ databricksConf: { environment_key: 'my-env', run_name: 'sl' } });
    expect(body).toEqual({
      run_name: 'sl',
      environments: [{ environment_key: 'my-env', spec: { client: '1', environment_vars: FLYTE_ENV } }],
      tasks: [
        {
          task_key: 'flyte_task',
          spark_python_task: { python_file: SERVERLESS_ENTRYPOINT, source: 'GIT', parameters: ARGS },
          environment_key: 'my-env',
        },
      ],
      git_source: DEFAULT_GIT_SOURCE,
      idempotency_token: 'job-123',
    });
    expect(body).not.toHaveProperty('environment_key');
  });

  it('with environments only: uses key "default" and merges env into the matching entry, Flyte winning', () => {
    const environments = [
      { environment_key: 'other', spec: { client: '2' } },
      {
        environment_key: 'default',
        spec: { client: '2', dependencies: ['pandas'], environment_vars: { foo: 'user', X: '1' } },
      },
    ];
    const body = build({ databricksConf: { environments } });
    expect(body.environments).toEqual([
      { environment_key: 'other', spec: { client: '2' } },
      {
        environment_key: 'default',
        spec: {
          client: '2',
          dependencies: ['pandas'],
          environment_vars: { foo: 'bar', X: '1', FLYTE_FAIL_ON_ERROR: 'true' },
        },
      },
    ]);
    expect(body.tasks).toEqual([expect.objectContaining({ task_key: 'flyte_task', environment_key: 'default' })]);
  });

  it('appends an entry when environments has none for the key', () => {
    const body = build({
      databricksConf: { environment_key: 'k', environments: [{ environment_key: 'x', spec: {} }] },
    });
    expect(body.environments).toEqual([
      { environment_key: 'x', spec: {} },
      { environment_key: 'k', spec: { client: '1', environment_vars: FLYTE_ENV } },
    ]);
  });

  it('appends --flyte-credential-provider from the task field, which beats the default', () => {
    const body = build(
      { databricksConf: { environment_key: 'e' }, databricksServiceCredentialProvider: 'task-provider' },
      { provider: 'default-provider' },
    );
    const [task] = body.tasks as Array<{ spark_python_task: { parameters: string[] } }>;
    expect(task?.spark_python_task.parameters).toEqual([...ARGS, '--flyte-credential-provider=task-provider']);
  });

  it('appends --flyte-credential-provider from the default when the task has none, and nothing when neither', () => {
    const withDefault = build({ databricksConf: { environment_key: 'e' } }, { provider: 'default-provider' });
    const params = (t: unknown) => (t as Array<{ spark_python_task: { parameters: string[] } }>)[0]?.spark_python_task;
    expect(params(withDefault.tasks)?.parameters.at(-1)).toBe('--flyte-credential-provider=default-provider');
    expect(params(build({ databricksConf: { environment_key: 'e' } }).tasks)?.parameters).toEqual(ARGS);
  });

  it('does not add a credential provider in classic mode', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c' }, databricksServiceCredentialProvider: 'p' });
    expect(body.spark_python_task).toMatchObject({ parameters: ARGS });
  });
});

describe('buildSubmitRunBody: user git_source / python_file', () => {
  it('uses the user git_source and python_file and removes python_file from the top level (classic)', () => {
    const body = build({
      databricksConf: { existing_cluster_id: 'c', git_source: USER_GIT, python_file: 'main.py' },
    });
    expect(body.git_source).toEqual(USER_GIT);
    expect(body.spark_python_task).toEqual({ python_file: 'main.py', source: 'GIT', parameters: ARGS });
    expect(body).not.toHaveProperty('python_file');
  });

  it('uses the user git_source and python_file in serverless tasks', () => {
    const body = build({
      databricksConf: { environment_key: 'e', git_source: USER_GIT, python_file: 'entry_sl.py' },
    });
    expect(body.git_source).toEqual(USER_GIT);
    expect(body.tasks).toEqual([
      expect.objectContaining({ spark_python_task: { python_file: 'entry_sl.py', source: 'GIT', parameters: ARGS } }),
    ]);
    expect(body).not.toHaveProperty('python_file');
  });

  it('overrides only python_file while keeping the default repo', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c', python_file: 'alt.py' } });
    expect(body.git_source).toEqual(DEFAULT_GIT_SOURCE);
    expect(body.spark_python_task).toMatchObject({ python_file: 'alt.py' });
  });
});

describe('buildSubmitRunBody: notebook mode', () => {
  const nb = { notebookPath: '/Users/me/nb', notebookBaseParameters: { p: '1' } };

  it('classic without git_source: top-level notebook_task, no source, no git_source', () => {
    const body = build({ databricksConf: { new_cluster: { num_workers: 1 } }, ...nb });
    expect(body.notebook_task).toEqual({ notebook_path: '/Users/me/nb', base_parameters: { p: '1' } });
    expect(body).not.toHaveProperty('git_source');
    expect(body).not.toHaveProperty('spark_python_task');
    expect(body.new_cluster).toMatchObject({ spark_env_vars: FLYTE_ENV });
  });

  it('classic with user git_source: source GIT and git_source kept', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c', git_source: USER_GIT }, notebookPath: 'nb/path' });
    expect(body.notebook_task).toEqual({ notebook_path: 'nb/path', source: 'GIT' });
    expect(body.git_source).toEqual(USER_GIT);
  });

  it('serverless without git_source: flyte_notebook_task in tasks[] and env in environments', () => {
    const body = build({ databricksConf: { environment_key: 'e' }, ...nb });
    expect(body.tasks).toEqual([
      {
        task_key: 'flyte_notebook_task',
        notebook_task: { notebook_path: '/Users/me/nb', base_parameters: { p: '1' } },
        environment_key: 'e',
      },
    ]);
    expect(body.environments).toEqual([{ environment_key: 'e', spec: { client: '1', environment_vars: FLYTE_ENV } }]);
    expect(body).not.toHaveProperty('git_source');
    expect(body).not.toHaveProperty('notebook_task');
  });

  it('serverless with user git_source: notebook source GIT and git_source kept', () => {
    const body = build({
      databricksConf: { environments: [{ environment_key: 'default' }], git_source: USER_GIT },
      ...nb,
    });
    expect(body.tasks).toEqual([
      expect.objectContaining({
        notebook_task: expect.objectContaining({ source: 'GIT' }),
        environment_key: 'default',
      }),
    ]);
    expect(body.git_source).toEqual(USER_GIT);
  });

  it('omits empty base parameters', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c' }, notebookPath: 'p', notebookBaseParameters: {} });
    expect(body.notebook_task).toEqual({ notebook_path: 'p' });
  });
});

describe('buildSubmitRunBody: passthrough, errors, immutability, idempotency', () => {
  it('passes unknown keys through unchanged', () => {
    const libraries = [{ pypi: { package: 'x' } }];
    const body = build({
      databricksConf: { existing_cluster_id: 'c', run_name: 'n', timeout_seconds: 9, max_retries: 2, libraries },
    });
    expect(body).toMatchObject({ run_name: 'n', timeout_seconds: 9, max_retries: 2, libraries });
  });

  it.each([{}, { environment_key: '' }, { environments: [] }, { new_cluster: null }])(
    'throws InvalidJobSpecError naming task.databricksConf when there is no compute (%j)',
    (conf) => {
      const err = catchError(() => build({ databricksConf: conf }));
      expect(err).toBeInstanceOf(InvalidJobSpecError);
      expect(err).toMatchObject({ message: NO_COMPUTE_MESSAGE, field: 'task.databricksConf', permanent: true });
    },
  );

  it('does not mutate the task or the container', () => {
    const task: DatabricksTaskSpec = {
      databricksConf: {
        environment_key: 'e',
        environments: [{ environment_key: 'e', spec: { environment_vars: { a: '1' } } }],
        python_file: 'x.py',
      },
    };
    const env = { foo: 'bar' };
    const args = ['a'];
    const snapshot = structuredClone(task);
    build(task, { container: { image: 'i', args, env }, provider: 'p' });
    expect(task).toEqual(snapshot);
    expect(env).toEqual({ foo: 'bar' });
    expect(args).toEqual(['a']);
  });

  it('always sets idempotency_token, overriding any user value', () => {
    const body = build({ databricksConf: { existing_cluster_id: 'c', idempotency_token: 'user' } });
    expect(body.idempotency_token).toBe('job-123');
  });

  it.each(['', 'x'.repeat(65)])('rejects an idempotency token of length %#', (token) => {
    const err = catchError(() =>
      buildSubmitRunBody({
        task: { databricksConf: { existing_cluster_id: 'c' } },
        container,
        idempotencyToken: token,
      }),
    );
    expect(err).toMatchObject({ name: 'InvalidJobSpecError', field: 'idempotencyToken' });
  });

  it('accepts a 64-char idempotency token', () => {
    const token = 'x'.repeat(64);
    const body = buildSubmitRunBody({
      task: { databricksConf: { existing_cluster_id: 'c' } },
      container,
      idempotencyToken: token,
    });
    expect(body.idempotency_token).toBe(token);
  });
});
