/**
 * What the functions that talk to Databricks (submit, poll, cancel) may use to authenticate: the namespace secrets
 * under the secret name template's prefix (unless namespace secrets come from Kubernetes), the connector-wide
 * fallback PAT and OAuth client secret if configured (each exactly that secret), and, only when enabled, STS
 * GetWebIdentityToken for the configured audience and duration (OIDC Model 1) and DescribeCluster on the configured
 * EKS cluster (OIDC Model 2 / Kubernetes secrets). Each is a policy of its own, so each acknowledgement covers only
 * its statement.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { wildcardResourceFinding } from '../nag.js';
import { type StackConfig, secretNamePrefix } from '../stack-config.js';
import type { Acknowledged, JobFunction } from './job-function.js';

export function grantDatabricksCredentials(fn: JobFunction, config: StackConfig): void {
  const stack = Stack.of(fn);
  const secretArn = (resourceName: string) =>
    stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  // Secrets Manager appends a random 6-character suffix to every secret ARN: `-??????` matches it and nothing more.
  // A full ARN matches itself; an ARN given without its suffix matches through the pattern.
  const exactSecret = (id: string) => (id.startsWith('arn:') ? [id, `${id}-??????`] : [secretArn(`${id}-??????`)]);

  const resources: string[] = [];
  const acknowledgements: Acknowledged[] = [];
  if (config.namespaceSecretSource !== 'kubernetes') {
    const prefix = secretNamePrefix(config.secretNameTemplate);
    const namespaceSecrets = secretArn(`${prefix}*`);
    resources.push(namespaceSecrets);
    acknowledgements.push({
      finding: wildcardResourceFinding(fn, namespaceSecrets),
      reason:
        `Namespace credentials live in one secret per namespace and name (SECRET_NAME_TEMPLATE ` +
        `${config.secretNameTemplate}), created by operators as tenants are onboarded, so their names are not ` +
        `known at deploy time. Read access is limited to the template's fixed prefix '${prefix}' and to ` +
        'GetSecretValue; nothing can be listed, written or deleted.',
    });
  }
  for (const id of [config.fallbackTokenSecretId, config.databricksClientSecretSecretId]) {
    if (id !== undefined) resources.push(...exactSecret(id));
  }
  if (resources.length > 0) {
    fn.addPolicy(
      'SecretsRead',
      [new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...new Set(resources)] })],
      acknowledgements,
    );
  }

  if (config.oidcModel1Sts && config.oidcAudience !== undefined && config.oidcStsDurationSeconds !== undefined) {
    fn.addPolicy(
      'OidcStsToken',
      [
        new PolicyStatement({
          actions: ['sts:GetWebIdentityToken'],
          resources: ['*'],
          conditions: {
            // sts:IdentityTokenAudience is multivalued (a request may ask for several audiences): every audience
            // asked for must be this one. A plain StringEquals on a multivalued key matches nothing; ForAnyValue would
            // let a request add audiences of its choosing beside this one.
            'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': [config.oidcAudience] },
            // The functions request exactly OIDC_STS_DURATION_SECONDS, set from the same context value.
            NumericLessThanEquals: { 'sts:DurationSeconds': config.oidcStsDurationSeconds },
          },
        }),
      ],
      [
        {
          finding: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'sts:GetWebIdentityToken mints a JWT for the calling role itself and has no resource type to scope to; ' +
            `the conditions sts:IdentityTokenAudience = ${config.oidcAudience} and sts:DurationSeconds <= ` +
            `${config.oidcStsDurationSeconds} limit it to short-lived tokens for Databricks.`,
        },
      ],
    );
  }

  if (config.eksClusterName !== undefined) {
    fn.addPolicy('EksDescribeCluster', [
      new PolicyStatement({
        actions: ['eks:DescribeCluster'],
        resources: [stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: config.eksClusterName })],
      }),
    ]);
  }
}
