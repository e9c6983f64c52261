import { Topology, loadTopology } from '../functions/kernel/topology/topology';
import { formatLabel } from '../functions/kernel/labels';
import { argumentsJsonSchema, toolRegistry } from '../functions/tools/registry';
import { table } from './output';

/** One tool as `agentsec tools` shows it: what the topology says of it, and the arguments its code takes. */
export interface ToolView {
  name: string;
  priority: 'low' | 'high' | 'critical';
  owners: readonly string[];
  approvals?: number;
  resultLabel: string;
  sink?: string;
  /** Arguments whose value must come from a trusted source on a high-priority call (DESIGN §5). */
  targets: readonly string[];
  arguments: Record<string, unknown>;
}

/** Every tool of the topology, read offline (no local cloud needed). */
export function toolViews(topology: Topology = loadTopology()): ToolView[] {
  const registry = toolRegistry(topology);
  return [...topology.tools.values()].map((t) => ({
    name: t.name,
    priority: t.priority,
    owners: t.owners,
    ...(t.approvals ? { approvals: t.approvals } : {}),
    resultLabel: formatLabel(t.resultLabel),
    ...(t.sink ? { sink: formatLabel(t.sink) } : {}),
    targets: Object.entries(t.arguments).filter(([, p]) => p.target).map(([name]) => name),
    arguments: argumentsJsonSchema(registry.get(t.name)!.definition),
  }));
}

/** The table `agentsec tools` prints. */
export function formatTools(views: readonly ToolView[]): string {
  const args = (v: ToolView) => {
    const props = (v.arguments.properties ?? {}) as Record<string, { type?: string; format?: string; enum?: unknown[] }>;
    return Object.entries(props)
      .map(([k, p]) => `${k}${v.targets.includes(k) ? '*' : ''}: ${p.enum ? p.enum.join('|') : (p.format ?? p.type ?? '?')}`)
      .join(', ');
  };
  return [
    table(
      ['TOOL', 'PRIORITY', 'OWNERS', 'APPROVALS', 'SINK', 'ARGUMENTS (* target)'],
      views.map((v) => [v.name, v.priority, v.owners.join(','), v.approvals ? String(v.approvals) : '-', v.sink ?? '-', args(v)]),
    ),
    'High and critical tools run only as a command allows them: `agentsec ask ... --allow send_email:to=a@x.org`.',
  ].join('\n');
}
