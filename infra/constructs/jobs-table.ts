/**
 * The jobs table: one item per job, keyed by the deterministic job id, expiring through TTL; indexes `byNamespace`
 * (listing), `byLiveness` (the sweeper) and `liveByWorkspace` (poll pacing). On-demand, point-in-time
 * recovery, encrypted with the AWS managed key, and kept (with deletion protection) unless the stack is non-prod.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The item actions the job store uses (shared/jobs/job-store.ts). */
export type JobItemAction = 'GetItem' | 'PutItem' | 'UpdateItem';

export interface JobsTableProps {
  removalPolicy: 'retain' | 'destroy';
}

export class JobsTable extends Construct {
  static readonly PARTITION_KEY = 'jobId';
  static readonly TTL_ATTRIBUTE = 'expiresAt';
  /** GET /v1/jobs: a namespace's jobs, newest first. */
  static readonly NAMESPACE_INDEX = 'byNamespace';
  /** The sweeper: live jobs by heartbeat, sparse (only jobs that have not ended carry `liveShard`). */
  static readonly LIVENESS_INDEX = 'byLiveness';
  /** Poll pacing: each workspace's live jobs, sparse (only jobs that have not ended carry `liveHost`). */
  static readonly LIVE_BY_WORKSPACE_INDEX = 'liveByWorkspace';

  readonly table: Table;

  constructor(scope: Construct, id: string, props: JobsTableProps) {
    super(scope, id);
    const retain = props.removalPolicy === 'retain';
    this.table = new Table(this, 'Table', {
      partitionKey: { name: JobsTable.PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: JobsTable.TTL_ATTRIBUTE,
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: JobsTable.NAMESPACE_INDEX,
      partitionKey: { name: 'namespace', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      // A listing shows the job view (phase, run, auth type, timestamps...). Projecting everything means the view can
      // grow without rebuilding the index; a projection cannot be changed in place.
      projectionType: ProjectionType.ALL,
    });
    // shared/jobs/liveness.ts. Keys only: the sweeper reads each stale job itself before acting on it, and an
    // unchanged poll's heartbeat write then costs the index one small item.
    this.table.addGlobalSecondaryIndex({
      indexName: JobsTable.LIVENESS_INDEX,
      partitionKey: { name: 'liveShard', type: AttributeType.STRING },
      sortKey: { name: 'heartbeatAt', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // shared/jobs/live-workspace-jobs.ts. Keys only: the poll function needs the ids alone, and the index is written
    // only when a job starts and ends (a heartbeat changes neither key).
    this.table.addGlobalSecondaryIndex({
      indexName: JobsTable.LIVE_BY_WORKSPACE_INDEX,
      partitionKey: { name: 'liveHost', type: AttributeType.STRING },
      sortKey: { name: JobsTable.PARTITION_KEY, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }

  /**
   * Grants exactly these item actions on the table itself. Table.grant() would add `<table>/index/*` too, which
   * item actions never need; a query on the index will be granted on that index's ARN alone.
   */
  grantItemActions(grantee: IGrantable, actions: readonly JobItemAction[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [this.table.tableArn],
    });
  }

  /** Query on the namespace index alone (GET /v1/jobs), not on the table or any other index. */
  grantNamespaceQuery(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${JobsTable.NAMESPACE_INDEX}`],
    });
  }

  /** Query on the liveness index alone (the sweeper), not on the table or any other index. */
  grantLivenessQuery(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${JobsTable.LIVENESS_INDEX}`],
    });
  }

  /** Query on the workspace index alone (the poll function's pacing), not on the table or any other index. */
  grantLiveByWorkspaceQuery(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${JobsTable.LIVE_BY_WORKSPACE_INDEX}`],
    });
  }
}
