import type { ApiRoute } from '../functions/api/routes';

/**
 * Route selection as API Gateway HTTP APIs do it: the method and every path segment must match, `{name}`
 * takes one non-empty segment, a final `{name+}` takes the rest, and the most specific route (most literal
 * segments) wins. No match is a 404 without invoking anything.
 */

export interface RouteMatch {
  readonly route: ApiRoute;
  readonly pathParameters: Record<string, string>;
}

type Segment = { literal: string } | { param: string; greedy: boolean };

interface CompiledRoute {
  readonly route: ApiRoute;
  readonly segments: readonly Segment[];
  readonly literals: number;
}

export class RouteMatcher {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly ApiRoute[]) {
    this.compiled = routes.map((route) => {
      const segments = splitPath(route.path).map<Segment>((s) => {
        const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$/.exec(s);
        return m ? { param: m[1], greedy: m[2] === '+' } : { literal: s };
      });
      return { route, segments, literals: segments.filter((s) => 'literal' in s).length };
    });
    this.compiled.sort((a, b) => b.literals - a.literals);
  }

  /** The route for `method rawPath`, with its decoded path parameters; undefined when none matches. */
  match(method: string, rawPath: string): RouteMatch | undefined {
    const parts = splitPath(rawPath);
    for (const { route, segments } of this.compiled) {
      if (route.method !== method) continue;
      const params = matchSegments(segments, parts);
      if (params) return { route, pathParameters: params };
    }
    return undefined;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').slice(1);
}

function matchSegments(segments: readonly Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if ('literal' in seg) {
      if (parts[i] !== seg.literal) return undefined;
      continue;
    }
    if (seg.greedy) {
      const rest = parts.slice(i).join('/');
      if (rest.length === 0) return undefined;
      params[seg.param] = safeDecode(rest);
      return params;
    }
    if (parts[i] === undefined || parts[i].length === 0) return undefined;
    params[seg.param] = safeDecode(parts[i]);
  }
  return parts.length === segments.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
