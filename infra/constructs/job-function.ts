/**
 * One of the suite's Lambda functions with the defaults they all share: Node.js 22 on arm64, its own esbuild bundle
 * (infra/bundling/function-bundle.ts: ESM with code splitting, so what only some jobs need sits in lazy chunks),
 * built in-process by the locally installed esbuild (never Docker), JSON logs into an explicit log group with
 * retention, X-Ray active tracing unless switched off, and a role of its own that starts empty: the stack grants
 * each function exactly what it calls.
 *
 * A plain lambda.Function with a bundled asset rather than NodejsFunction, which cannot split code into chunks.
 */
import { dirname } from 'node:path';
import { AssetHashType, DockerImage, type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { type IGrantable, type IPrincipal, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type CfnFunction,
  Code,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EsbuildLocalBundling } from '../bundling/esbuild-local-bundling.js';
import { ENTRY_FILE, PROJECT_ROOT } from '../bundling/function-bundle.js';
import { assertEnvironmentFits } from '../function-environment.js';
import { acknowledge } from '../nag.js';
import type { LogLevel } from '../stack-config.js';

export interface FunctionNetwork {
  vpc: IVpc;
  subnets: ISubnet[];
  securityGroups: ISecurityGroup[];
}

export interface JobFunctionProps {
  /** Handler file relative to the repository root, exporting `handler`. */
  entry: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  environment: Record<string, string>;
  logLevel: LogLevel;
  logRetentionDays: number;
  removalPolicy: 'retain' | 'destroy';
  network?: FunctionNetwork;
  /** X-Ray active tracing, with the permission to write traces in a policy of its own (context `tracing`). */
  tracing: boolean;
  /**
   * The function's CloudFormation logical id, fixed so that `sam local invoke <LogicalId>` and the SAM env-vars
   * file keep working when the construct tree changes.
   */
  logicalId: string;
}

export class JobFunction extends Construct implements IGrantable {
  readonly function: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: JobFunctionProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.logGroup = new LogGroup(this, 'LogGroup', { retention: props.logRetentionDays, removalPolicy });
    // No AWSLambdaBasicExecutionRole: it allows writing to any log group. This role may write to its own only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    // Lambda refuses more than 4 KB of environment, but only at deploy time: fail synth instead.
    assertEnvironmentFits(props.logicalId, props.environment);

    this.function = new LambdaFunction(this, 'Handler', {
      code: Code.fromAsset(dirname(`${PROJECT_ROOT}${props.entry}`), {
        // The hash of what is deployed, not of the handler's folder: shared code changes it too.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Required by the type, never pulled: the local bundling always succeeds, so Docker is not used.
          image: DockerImage.fromRegistry('unused-docker-bundling-image'),
          local: new EsbuildLocalBundling(props.entry),
        },
      }),
      handler: `${ENTRY_FILE.replace(/\.mjs$/, '')}.handler`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
      // No NODE_OPTIONS=--enable-source-maps: under Node 22 it reads and parses the source map of every file a cold
      // start loads, which made the poll function's import about 20% slower (measured: ~97 -> ~119 ms median). The
      // maps stay in the asset, beside each file, to map a minified stack offline.
      environment: props.environment,
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnets: props.network.subnets },
            securityGroups: props.network.securityGroups,
          }
        : {}),
    });
    (this.function.node.defaultChild as CfnFunction).overrideLogicalId(props.logicalId);
    if (props.network) this.allowVpcNetworking();
    if (props.tracing) this.traceActively();

    acknowledge(
      this,
      'AwsSolutions-L1',
      'Pinned to nodejs22.x, the runtime the suite and its pinned dependencies (middy 6, Powertools 2) are built and ' +
        'tested for; Lambda supports it until Node 22 reaches end of life (2027). Moving to a newer runtime is a ' +
        'deliberate, tested change, not an automatic one.',
    );
  }

  get grantPrincipal(): IPrincipal {
    return this.role;
  }

  /**
   * Attaches statements as a policy of their own, so that an acknowledged cdk-nag finding (a wildcard AWS offers
   * nothing narrower for) covers exactly these statements and never whatever lands in the role's default policy.
   */
  addPolicy(id: string, statements: PolicyStatement[], acknowledgements: Acknowledged[] = []): Policy {
    const policy = new Policy(this, id, { statements, roles: [this.role] });
    for (const { finding, reason } of acknowledgements) acknowledge(policy, finding, reason);
    // Like the default policy: attached before the function is created (VPC functions need it then) or invoked.
    this.function.node.addDependency(policy);
    return policy;
  }

  /**
   * Tracing Active, set on the function resource rather than through the `tracing` prop: that prop adds the X-Ray
   * statement to the role's default policy, where acknowledging its wildcard would cover every later statement too.
   * Here the statement is a policy of its own, attached before the function is created (Lambda checks the role).
   */
  private traceActively(): void {
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: Tracing.ACTIVE };
    this.addPolicy(
      'Tracing',
      [new PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] })],
      [
        {
          finding: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'X-Ray tracing (context tracing=true): xray:PutTraceSegments and xray:PutTelemetryRecords support no ' +
            'resource-level permissions, so AWS allows them on * only; the statement is the one AWSXRayDaemonWriteAccess ' +
            'and the Lambda tracing prop grant, in a policy of its own so nothing else shares the acknowledgement.',
        },
      ],
    );
  }

  /** What AWSLambdaVPCAccessExecutionRole grants, inline: Lambda manages the function's ENIs with the role. */
  private allowVpcNetworking(): void {
    const statement = new PolicyStatement({
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    });
    this.addPolicy(
      'VpcNetworking',
      [statement],
      [
        {
          finding: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'VPC attachment: Lambda creates, describes and deletes the function ENIs with the execution role. EC2 ' +
            'Describe* actions support no resource-level permissions and the ENI ids are not known in advance; this ' +
            'is the AWS managed AWSLambdaVPCAccessExecutionRole statement, inlined so no managed policy is attached.',
        },
      ],
    );
  }
}

export interface Acknowledged {
  /** The cdk-nag finding id, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  finding: string;
  reason: string;
}
