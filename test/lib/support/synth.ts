import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Topology, loadTopology } from '../../../functions/kernel/topology/topology';
import { AgentSecStack, STACK_NAME } from '../../../lib/agentsec-stack';
import type { CloudFormationTemplate } from '../../../redteam/iam/template';

/**
 * Synthesizes the AgentSec stack for template tests. Bundling is skipped by default through CDK's own
 * `aws:cdk:bundling-stacks` context (an empty list: no stack bundles), which leaves every Lambda a
 * NodejsFunction with its real properties and only the code asset unbuilt; the CLI synth and deploy tests
 * bundle for real. Each test file calls this once and shares the result.
 */
export interface SynthOptions {
  /** Run esbuild for every function. @default false */
  readonly bundling?: boolean;
  /** The topology to generate from. @default loadTopology() */
  readonly topology?: Topology;
  /** The stack's break-glass key administrator. @default none: the account administers the keys */
  readonly keyAdministratorRoleArn?: string;
  /** The address told of every alarm. @default none: no alarm topic */
  readonly alarmEmail?: string;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: AgentSecStack;
  readonly template: Template;
  /** The template as JSON. */
  readonly json: CloudFormationTemplate;
  readonly topology: Topology;
}

export type { CloudFormationTemplate };

const outdirs: string[] = [];
// Each test file has its own module registry, so this removes exactly that file's cloud assemblies.
afterAll(() => outdirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

export function synthesize(options: SynthOptions = {}): Synthesized {
  const topology = options.topology ?? loadTopology();
  const outdir = mkdtempSync(path.join(tmpdir(), 'agentsec-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    // CDK's schema validator (WASM) adds ~15 s per synth; the CLI synth test runs it.
    builtinCloudFormationValidation: false,
    context: options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new AgentSecStack(app, STACK_NAME, { topology, keyAdministratorRoleArn: options.keyAdministratorRoleArn, alarmEmail: options.alarmEmail });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as CloudFormationTemplate, topology };
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalIdOf(stack: AgentSecStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve(stack.getLogicalId(construct.node.defaultChild as never)) as string;
}
