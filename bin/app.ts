import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadTopology } from '../functions/kernel/topology/topology';
import { AgentSecStack, STACK_NAME } from '../lib/agentsec-stack';

/**
 * The CDK app: one stack, `AgentSec`, generated from the topology (`AGENTSEC_CONFIG` or agentsec.config.json).
 * cdk-nag's AwsSolutions pack runs on every synth; a finding not acknowledged with a reason stops it.
 */
const app = new App();
new AgentSecStack(app, STACK_NAME, {
  topology: loadTopology(),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
