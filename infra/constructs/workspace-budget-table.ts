/**
 * The workspace budget table: one small item per Databricks workspace, the ledger of its call budget
 * (shared/databricks/dynamodb-call-ledger.ts). Every Databricks call of the submit, poll and cancel functions updates
 * its workspace's item, so the table is on-demand and holds nothing worth backing up: the ledger times are seconds
 * ahead at most, and an item expires (TTL) a day after its workspace's last call.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export class WorkspaceBudgetTable extends Construct {
  static readonly PARTITION_KEY = 'workspace';
  static readonly TTL_ATTRIBUTE = 'expiresAt';

  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: WorkspaceBudgetTable.PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: WorkspaceBudgetTable.TTL_ATTRIBUTE,
      encryption: TableEncryption.AWS_MANAGED,
      // Nothing to keep: a new table starts every workspace with an idle ledger.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.table,
      'AwsSolutions-DDB3',
      'The ledger holds only when each workspace may next be called, seconds ahead at most: nothing to restore.',
    );
  }

  /** The ledger's calls: a conditional UpdateItem per Databricks call, a consistent GetItem when one is deferred. */
  grantLedger(grantee: IGrantable): void {
    this.table.grant(grantee, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
  }
}
