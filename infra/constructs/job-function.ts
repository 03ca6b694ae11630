/**
 * One of the suite's Lambda functions with the defaults they all share: Node.js 22 on arm64, an ESM bundle built by
 * the locally installed esbuild (never Docker), minified with source maps, JSON logs into an explicit log group with
 * retention, and a role of its own that starts empty: the stack grants each function exactly what it calls.
 */
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { type IGrantable, type IPrincipal, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, type CfnFunction, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel as EsbuildLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { assertEnvironmentFits } from '../function-environment.js';
import { acknowledge } from '../nag.js';
import type { LogLevel } from '../stack-config.js';

/** The repository root: entries, package-lock.json and tsconfig.json are found from here. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
  memorySize?: number;
  environment: Record<string, string>;
  logLevel: LogLevel;
  logRetentionDays: number;
  removalPolicy: 'retain' | 'destroy';
  network?: FunctionNetwork;
  /**
   * Bundle @kubernetes/client-node (OIDC Model 2, Kubernetes secrets). Off: the module is left out of the bundle,
   * so a function that imported it would fail at runtime; the stack tests check no bundle refers to it.
   */
  kubernetesClient?: boolean;
  /**
   * The function's CloudFormation logical id, fixed so that `sam local invoke <LogicalId>` and the SAM env-vars
   * file keep working when the construct tree changes.
   */
  logicalId: string;
}

export class JobFunction extends Construct implements IGrantable {
  readonly function: NodejsFunction;
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

    const environment = { ...props.environment, NODE_OPTIONS: '--enable-source-maps' };
    // Lambda refuses more than 4 KB of environment, but only at deploy time: fail synth instead.
    assertEnvironmentFits(props.logicalId, environment);

    this.function = new NodejsFunction(this, 'Handler', {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
      environment,
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnets: props.network.subnets },
            securityGroups: props.network.securityGroups,
          }
        : {}),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // CommonJS dependencies bundled into an ESM file still call require(); give them one.
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        logLevel: EsbuildLogLevel.WARNING,
        // The AWS SDK is bundled (pinned by package-lock.json) rather than taken from the runtime, so what runs is
        // what was tested. @kubernetes/client-node is bundled only where asked for (kubernetesClient); the
        // handlers import it dynamically, so esbuild defers its evaluation until a job needs Kubernetes.
        externalModules: props.kubernetesClient ? [] : ['@kubernetes/client-node'],
      },
    });
    (this.function.node.defaultChild as CfnFunction).overrideLogicalId(props.logicalId);
    if (props.network) this.allowVpcNetworking();

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
