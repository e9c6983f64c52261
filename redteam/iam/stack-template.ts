import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Level } from '../../functions/kernel/labels';
import { TableName } from '../../functions/kernel/tables';
import { Topology } from '../../functions/kernel/topology/topology';
import { AgentSecStack, STACK_NAME } from '../../lib/agentsec-stack';
import { PolicyEvaluator } from './policy-evaluator';
import { CloudFormationTemplate } from './template';

/** A resource of the stack, named as the topology names it. */
export type StackResource =
  | { readonly kind: 'table'; readonly table: TableName }
  | { readonly kind: 'key'; readonly level: Level }
  | { readonly kind: 'authority' }
  | { readonly kind: 'queue'; readonly agent: string }
  | { readonly kind: 'function'; readonly actor: string };

/** One AWS request a principal could make, for the policy evaluator. */
export interface AwsRequest {
  readonly action: string;
  readonly resource: StackResource;
  readonly context?: Record<string, string>;
}

/**
 * The AgentSec stack synthesized from the topology (without bundling) and a policy evaluator over it: answers
 * "may this actor's role make this request?" with the identity and resource policies AWS would combine.
 */
export class StackTemplate {
  readonly evaluator: PolicyEvaluator;

  private constructor(
    private readonly stack: AgentSecStack,
    readonly json: CloudFormationTemplate,
  ) {
    this.evaluator = new PolicyEvaluator(json);
  }

  static synthesize(topology: Topology): StackTemplate {
    const outdir = mkdtempSync(path.join(tmpdir(), 'agentsec-redteam-'));
    try {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new AgentSecStack(app, STACK_NAME, { topology });
      const json = app.synth().getStackByName(STACK_NAME).template as CloudFormationTemplate;
      return new StackTemplate(stack, json);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }

  /** True when the role of `actor` may make `request`. */
  allows(actor: string, request: AwsRequest): Promise<boolean> {
    return this.evaluator.allows({
      caller: { role: this.roleOf(actor) },
      action: request.action,
      resource: this.logicalId(request.resource),
      ...(request.context ? { context: request.context } : {}),
    });
  }

  private roleOf(actor: string): string {
    const roles: Record<string, IConstruct> = Object.fromEntries([
      ...[...this.stack.agents.values()].map((a) => [a.actorName, a.role]),
      ['api', this.stack.api.role],
      ['signer', this.stack.signer.role],
      ['effects', this.stack.effects.role],
    ]);
    const role = roles[actor];
    if (!role) throw new Error(`no role for ${actor}`);
    return this.id(role);
  }

  private logicalId(resource: StackResource): string {
    switch (resource.kind) {
      case 'table':
        return this.id(this.stack.data.tables[resource.table]);
      case 'key':
        return this.id(this.stack.keyring.keys[resource.level]);
      case 'authority':
        return this.id(this.stack.authority.key);
      case 'queue':
        return this.id(this.stack.agent(resource.agent).queue);
      case 'function': {
        const fn =
          resource.actor === 'signer'
            ? this.stack.signer.handler.fn
            : resource.actor === 'effects'
              ? this.stack.effects.handler.fn
              : resource.actor === 'api'
                ? this.stack.api.handler.fn
                : this.stack.agent(resource.actor).handler.fn;
        return this.id(fn);
      }
    }
  }

  private id(construct: IConstruct): string {
    const child = (construct.node.defaultChild ?? construct) as never;
    return Stack.of(this.stack).resolve(Stack.of(this.stack).getLogicalId(child)) as string;
  }
}
