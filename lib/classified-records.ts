import { CfnOutput, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEVELS } from '../functions/kernel/labels';
import { RECORD_SEALER } from '../functions/kernel/messages/envelope-cipher';
import { Actor } from './actor';
import { Agent } from './agent';
import { DataTables } from './data-tables';
import { Keyring } from './keyring';
import { TAG } from './tags';

export interface ClassifiedRecordsProps {
  /** The level keys records are sealed under. */
  readonly keyring: Keyring;
  /** The tables, among them `records`. */
  readonly data: DataTables;
}

/**
 * Classified data at rest (DESIGN §3): the records tools read live in the records table, each sealed under its level's
 * key with its label in the encryption context, once for each agent cleared to read it, never in a function bundle.
 * Its one writer is the record seeder, a role no function has, tagged `agentsec:purpose` = `record-seeder`, that an
 * operator of the account assumes to run `agentsec records seed`: it creates data keys only as the record sealer and
 * puts records, and opens nothing. Its ARN is the stack output `RecordSeederRoleArn`. Readers are granted one by one
 * through {@link grantRead}.
 */
export class ClassifiedRecords extends Construct {
  /** The operator's seeding role, acting as the record sealer in encryption contexts. */
  readonly seeder: Actor;

  constructor(scope: Construct, id: string, private readonly props: ClassifiedRecordsProps) {
    super(scope, id);
    const role = new iam.Role(this, 'SeederRole', {
      assumedBy: new iam.AccountPrincipal(Stack.of(this).account),
      description: 'AgentSec record seeder: seals classified records into the records table (agentsec records seed); decrypts nothing',
      maxSessionDuration: Duration.hours(1),
    });
    Tags.of(role).add(TAG.purpose, 'record-seeder');
    this.seeder = { actorName: RECORD_SEALER, role };
    props.keyring.grantRecordSealing(this.seeder, LEVELS);
    props.data.grantRecordSeeding(this.seeder);
    new CfnOutput(this, 'SeederRoleArn', {
      value: role.roleArn,
      description: 'Role an operator assumes to seal classified records into the records table (agentsec records seed)',
    }).overrideLogicalId('RecordSeederRoleArn');
  }

  /**
   * Lets `reader`, an agent owning a tool that reads records, get the records sealed for it. It opens them with its
   * key grants (`to` = itself, levels its clearance dominates, no compartment it lacks: DESIGN §2, §3).
   */
  grantRead(reader: Agent): void {
    this.props.data.grantRecordReads(reader);
  }
}
