import { defineConfig } from 'vitest/config';

/** Unit files that need a module graph of their own (see the projects below). */
const FRESH_MODULE_FILES = [
  'test/unit/auth/**/*.test.ts',
  'test/unit/metrics/**/*.test.ts',
  'test/unit/tracing/**/*.test.ts',
  'test/unit/status-page/**/*.test.ts',
  'test/unit/fuzz/**/*.test.ts',
  'test/unit/security/caller-*.test.ts',
  'test/unit/cli/main.test.ts',
  'test/unit/aws-sdk-deadline.test.ts',
  'test/unit/handlers/sqs-batch-defer.test.ts',
  'test/unit/infra/function-bundle.test.ts',
  'test/unit/kube/eks-cluster.test.ts',
  'test/unit/lambda-runtime/function-environments.test.ts',
];

export default defineConfig({
  test: {
    // Each project names its files (a root `include` would be merged into both).
    projects: [
      // Unit files share a worker's module graph (importing once: the unit run takes half the time), except those
      // that need a fresh one: they set the environment a module reads when it loads (the handlers' config), check
      // process-wide singletons (the metrics and tracing of a Lambda environment), or stub the AWS SDK clients'
      // prototypes (aws-sdk-client-mock).
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: FRESH_MODULE_FILES, isolate: false },
      },
      { extends: true, test: { name: 'unit-fresh-modules', include: FRESH_MODULE_FILES } },
      // Integration tests drive a local stack whose functions run in processes of their own; what they import in the
      // test process holds no state between files, so a worker reuses its module graph (importing: 107 s -> 76 s summed).
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          isolate: false,
          setupFiles: ['test/integration/support/function-logs-on-failure.ts'],
        },
      },
    ],
    // Integration tests start an embedded stack on ephemeral 127.0.0.1 ports per file; two forks fit the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // The synthesized template (and the Lambda runtime the local stack runs it on), prepared once per run.
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/fresh-container-state.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: {
      // The local stack's operator (infra/local/template/local-context.ts): dummy keys its IAM gateways accept with
      // an administrator's policy, so SDK clients in the tests inspect its tables and queues. No real AWS is reached.
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      // Handlers run in the test process print no metric lines (test/unit/metrics turns them back on to check them);
      // the local stack's functions run with the template's environment and print theirs.
      POWERTOOLS_METRICS_DISABLED: 'true',
      // This machine runs Node 20; Lambda runs Node 22. The SDK's notice about that is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
