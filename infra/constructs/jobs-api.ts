/**
 * The front door: a REST API (POST /v1/jobs, GET and DELETE /v1/jobs/{id}) proxying to the api function. Every
 * method takes IAM (SigV4) authorization: Flyte tasks on EKS sign with their IRSA role. A request validator with a
 * JSON-schema model turns away bodies that cannot be a job request before a function runs; the zod schema in
 * shared/jobs/submit-request.ts stays the real validator, so the model only checks what never changes.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type JsonSchema,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  type MethodOptions,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, ArnPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { openApiDocument } from '../../shared/api/openapi-document.js';
import { acknowledge } from '../nag.js';

export interface JobsApiProps {
  handler: IFunction;
  /** IAM principals allowed to invoke; empty leaves the decision to IAM policies in the account. */
  allowedPrincipalArns: string[];
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetentionDays: number;
  removalPolicy: 'retain' | 'destroy';
  /** X-Ray tracing on the stage (context `tracing`), so a job's trace starts at the front door. */
  tracingEnabled: boolean;
}

export const STAGE_NAME = 'prod';

export class JobsApi extends Construct {
  readonly restApi: RestApi;
  readonly accessLogGroup: LogGroup;
  readonly methods: Method[];

  constructor(scope: Construct, id: string, props: JobsApiProps) {
    super(scope, id);
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays,
      removalPolicy: props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.restApi = new RestApi(this, 'RestApi', {
      description: 'flyte-databricks-lambda: run Databricks jobs (SigV4-signed callers only)',
      endpointTypes: [EndpointType.REGIONAL],
      // The account-wide API Gateway CloudWatch role is not this stack's to take over (see APIG6 below).
      cloudWatchRole: false,
      policy: props.allowedPrincipalArns.length > 0 ? principalAllowlist(props.allowedPrincipalArns) : undefined,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        tracingEnabled: props.tracingEnabled,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            sourceIp: AccessLogField.contextIdentitySourceIp(),
            userAgent: AccessLogField.contextIdentityUserAgent(),
            callerAccountId: AccessLogField.contextIdentityAccountId(),
            userArn: AccessLogField.contextIdentityUserArn(),
            errorMessage: AccessLogField.contextErrorMessage(),
            responseType: AccessLogField.contextErrorResponseType(),
            validationError: AccessLogField.contextErrorValidationErrorString(),
          }),
        ),
      },
    });

    // The stack's ApiUrl output gives the same URL; one output per value.
    this.restApi.node.tryRemoveChild('Endpoint');

    // API Gateway's own errors (signature, validation, throttling) in the API's error shape (functions/api/http-error.ts).
    for (const [id, type] of [
      ['Default4xx', ResponseType.DEFAULT_4XX],
      ['Default5xx', ResponseType.DEFAULT_5XX],
    ] as const) {
      this.restApi.addGatewayResponse(id, {
        type,
        responseHeaders: { 'Content-Type': "'application/json'", 'Cache-Control': "'no-store'" },
        templates: {
          'application/json': '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}',
        },
      });
    }

    const validator = this.restApi.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const jobRequest = this.restApi.addModel('JobRequest', {
      contentType: 'application/json',
      description: 'POST /v1/jobs body; the function validates it fully (shared/jobs/submit-request.ts)',
      schema: jobRequestModel(),
    });

    const integration = new LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false });
    const withId: MethodOptions = {
      requestValidator: validator,
      requestParameters: { 'method.request.path.id': true },
    };
    const v1 = this.restApi.root.addResource('v1');
    const jobs = v1.addResource('jobs');
    const job = jobs.addResource('{id}');
    this.methods = [
      jobs.addMethod('POST', integration, {
        requestValidator: validator,
        requestModels: { 'application/json': jobRequest },
      }),
      // A namespace's recent jobs; the function validates limit and nextToken and names the field at fault.
      jobs.addMethod('GET', integration, {
        requestValidator: validator,
        requestParameters: { 'method.request.querystring.namespace': true },
      }),
      job.addMethod('GET', integration, withId),
      job.addMethod('DELETE', integration, withId),
      // The API's own OpenAPI 3.1 description, generated from the schemas the function validates with.
      v1.addResource('openapi.json').addMethod('GET', integration),
    ];

    acknowledge(
      this.restApi,
      'AwsSolutions-COG4',
      'Callers are AWS workloads (Flyte tasks on EKS with IRSA roles), not users: every method requires IAM (SigV4) ' +
        'authorization, which identifies the calling role; a Cognito user pool has no identity to offer them.',
    );
    acknowledge(
      this.restApi,
      'AwsSolutions-APIG6',
      'Execution logging needs the account-wide API Gateway CloudWatch Logs role, a regional singleton this stack ' +
        'must not overwrite. Access logs (APIG1) record every request with caller ARN, status and validation ' +
        'error, and the api function logs each request it handles.',
    );
    acknowledge(
      this.restApi,
      'AwsSolutions-APIG3',
      'No WAF web ACL by default: every request must carry a valid SigV4 signature of an allowed IAM principal, ' +
        'and stage throttling bounds the rate. Associate a web ACL with the stage if your account policy asks for one.',
    );
  }
}

/** Only these principals may invoke: allowed explicitly, and everyone else denied (an allow alone adds, never limits). */
function principalAllowlist(arns: string[]): PolicyDocument {
  // An account root ARN stands for every principal of that account, as in IAM policies.
  const principalPatterns = arns.map((arn) => arn.replace(/:root$/, ':*'));
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: arns.map((arn) => new ArnPrincipal(arn)),
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { ArnNotLike: { 'aws:PrincipalArn': principalPatterns } },
      }),
    ],
  });
}

/**
 * The gateway's first check of a POST body, taken from the API's own OpenAPI document (itself generated from the
 * zod schema the function validates with), so the two cannot drift: the required fields and the namespace and
 * executionId rules. API Gateway models are JSON Schema draft 4, so only that portable subset is carried over;
 * the function still validates everything and names the field at fault.
 */
function jobRequestModel(): JsonSchema {
  const request = openApiDocument().components.schemas.SubmitRequest as {
    required: string[];
    properties: Record<'namespace' | 'executionId', { minLength: number; maxLength: number; pattern: string }>;
  };
  const text = (name: 'namespace' | 'executionId'): JsonSchema => {
    const { minLength, maxLength, pattern } = request.properties[name];
    return { type: JsonSchemaType.STRING, minLength, maxLength, pattern };
  };
  return {
    schema: JsonSchemaVersion.DRAFT4,
    title: 'JobRequest',
    type: JsonSchemaType.OBJECT,
    required: request.required,
    properties: {
      namespace: text('namespace'),
      executionId: text('executionId'),
      task: {
        type: JsonSchemaType.OBJECT,
        required: ['databricksConf'],
        properties: { databricksConf: { type: JsonSchemaType.OBJECT } },
      },
      container: { type: JsonSchemaType.OBJECT },
    },
  };
}
