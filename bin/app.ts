import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadTopology } from '../functions/kernel/topology/topology';
import { AgentSecStack, STACK_NAME } from '../lib/agentsec-stack';

/**
 * The CDK app: one stack, `AgentSec`, generated from the topology (`AGENTSEC_CONFIG` or agentsec.config.json).
 * `-c keyAdministratorRoleArn=<role ARN>` names a break-glass role that administers the KMS keys instead of the
 * account root; `-c alarmEmail=<address>` subscribes an address to every alarm. cdk-nag's AwsSolutions pack runs on
 * every synth; a finding not acknowledged with a reason stops it.
 */
const app = new App();
new AgentSecStack(app, STACK_NAME, {
  topology: loadTopology(),
  keyAdministratorRoleArn: app.node.tryGetContext('keyAdministratorRoleArn'),
  alarmEmail: app.node.tryGetContext('alarmEmail'),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
